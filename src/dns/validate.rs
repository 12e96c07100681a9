//! DNSSEC validation (RFC 4033–4035) in-process: the validating resolver, the trust
//! anchor it starts from, and the translation of hickory's proofs into [`Security`].
//!
//! hickory marks every record it validated with a `Proof`; a bogus positive answer is
//! turned into an error that carries no records and no reason. So a bogus answer is
//! fetched again without validation (to show what the server sent) and the reason is
//! found by asking which link of the chain breaks: the zone's keys, or the signature
//! over the RRset.

use std::sync::Arc;

use hickory_resolver::config::{ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, RRSIG};
use hickory_resolver::proto::dnssec::{
    Algorithm, DigestType, Proof, PublicKey, PublicKeyBuf, TrustAnchors, Verifier,
};
use hickory_resolver::proto::rr::{DNSClass, LowerName, Name, RData, Record, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::OnceCell;

use super::Security;
use super::anchor::{AnchorRecord, TrustAnchor};

/// The validating resolver, built on first use: a DS trust anchor has to be turned
/// into the zone's keys by a query first.
pub(super) struct Validator {
    config: ResolverConfig,
    opts: ResolverOpts,
    anchor: Option<TrustAnchor>,
    resolver: OnceCell<Result<TokioResolver, String>>,
}

impl Validator {
    pub(super) fn new(
        config: ResolverConfig,
        opts: ResolverOpts,
        anchor: Option<TrustAnchor>,
    ) -> Self {
        Self {
            config,
            opts,
            anchor,
            resolver: OnceCell::new(),
        }
    }

    /// The resolver, or why validation cannot start (a trust anchor that matches no
    /// key the zone serves).
    pub(super) async fn resolver(&self, plain: &TokioResolver) -> Result<&TokioResolver, &str> {
        self.resolver
            .get_or_init(|| async {
                let anchors = match &self.anchor {
                    None => None,
                    Some(anchor) => Some(trust_anchors(anchor, plain).await?),
                };
                let mut opts = self.opts.clone();
                opts.validate = true;
                let mut builder = Resolver::builder_with_config(
                    self.config.clone(),
                    TokioRuntimeProvider::default(),
                )
                .with_options(opts);
                if let Some(anchors) = anchors {
                    builder = builder.with_trust_anchor(Arc::new(anchors));
                }
                builder.build().map_err(|e| {
                    format!(
                        "cannot set up DNSSEC validation ({})",
                        e.as_metrics_label().replace('_', " ")
                    )
                })
            })
            .await
            .as_ref()
            .map_err(String::as_str)
    }
}

/// hickory's trust anchor set from ours. hickory trusts a non-root zone's DNSKEY
/// RRset only when every key in it is an anchor, but an anchor names one key (the
/// KSK) and a zone usually has more. So each zone's RRset is fetched and trusted
/// as RFC 4035 §5.2 does below a DS: the keys the anchor names (by DS digest or
/// as the DNSKEY itself), and every key of the RRset once a named key's signature
/// over it verifies. Root anchors go to hickory as they are: it handles the root.
async fn trust_anchors(
    anchor: &TrustAnchor,
    plain: &TokioResolver,
) -> Result<TrustAnchors, String> {
    let mut anchors = TrustAnchors::empty();
    let mut zones: Vec<&str> = Vec::new();
    for entry in &anchor.entries {
        match entry {
            AnchorRecord::Dnskey {
                zone,
                algorithm,
                key,
                ..
            } if zone == "." => {
                let key = PublicKeyBuf::new(key.clone(), Algorithm::from_u8(*algorithm));
                anchors.insert_with_name(&key, LowerName::from(Name::root()));
            }
            other => {
                if !zones.contains(&other.zone()) {
                    zones.push(other.zone());
                }
            }
        }
    }
    for zone in zones {
        let name = anchor_name(zone, anchor)?;
        let named: Vec<&AnchorRecord> =
            anchor.entries.iter().filter(|e| e.zone() == zone).collect();
        for key in keys_for_anchor(&name, &named, plain)
            .await
            .map_err(|why| format!("trust anchor {} for {zone}: {why}", anchor.source))?
        {
            anchors.insert_with_name(key.public_key(), LowerName::from(&name));
        }
    }
    Ok(anchors)
}

/// Whether `key` is one the anchor records name.
fn named_by(zone: &Name, key: &DNSKEY, records: &[&AnchorRecord]) -> bool {
    records.iter().any(|record| match record {
        AnchorRecord::Ds {
            key_tag,
            algorithm,
            digest_type,
            digest,
            ..
        } => DS::new(
            *key_tag,
            Algorithm::from_u8(*algorithm),
            DigestType::from(*digest_type),
            digest.clone(),
        )
        .covers(zone, key)
        .unwrap_or(false),
        AnchorRecord::Dnskey {
            algorithm, key: k, ..
        } => {
            key.zone_key()
                && key.algorithm() == Algorithm::from_u8(*algorithm)
                && key.public_key().public_bytes() == k.as_slice()
        }
    })
}

fn anchor_name(zone: &str, anchor: &TrustAnchor) -> Result<Name, String> {
    Name::from_ascii(zone).map_err(|_| {
        format!(
            "trust anchor {}: {zone:?} is not a valid name",
            anchor.source
        )
    })
}

async fn keys_for_anchor(
    zone: &Name,
    named: &[&AnchorRecord],
    plain: &TokioResolver,
) -> Result<Vec<DNSKEY>, String> {
    let dnskey_records: Vec<Record> = plain
        .lookup(zone.clone(), RecordType::DNSKEY)
        .await
        .map_err(|_| "its DNSKEY records could not be fetched".to_string())?
        .answers()
        .iter()
        .filter(|r| r.record_type() == RecordType::DNSKEY && &r.name == zone)
        .cloned()
        .collect();
    let keys: Vec<DNSKEY> = dnskey_records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
            _ => None,
        })
        .collect();
    let matched: Vec<&DNSKEY> = keys.iter().filter(|k| named_by(zone, k, named)).collect();
    if matched.is_empty() {
        return Err(format!(
            "none of the {} DNSKEY records served matches the anchor",
            keys.len()
        ));
    }
    if matched.len() == keys.len() {
        return Ok(keys);
    }
    // Other keys (a ZSK beside the KSK) are trusted once a matched key signed the RRset.
    let rrsigs = plain
        .lookup(zone.clone(), RecordType::RRSIG)
        .await
        .map(|l| l.answers().to_vec())
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    let signed = rrsigs.iter().any(|r| {
        let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data else {
            return false;
        };
        let input = sig.input();
        input.type_covered == RecordType::DNSKEY
            && &input.signer_name == zone
            && in_window(sig, now)
            && matched.iter().any(|k| {
                k.calculate_key_tag().ok() == Some(input.key_tag)
                    && k.verify_rrsig(zone, DNSClass::IN, sig, dnskey_records.iter())
                        .is_ok()
            })
    });
    if signed {
        Ok(keys)
    } else {
        Ok(matched.into_iter().cloned().collect())
    }
}

/// RFC 4034 §3.1.5: serial-number arithmetic is overkill for a key fetched now; a
/// plain comparison suffices within the 68 years before the counters wrap.
fn in_window(sig: &RRSIG, now: u32) -> bool {
    let input = sig.input();
    input.sig_inception.get() <= now && now <= input.sig_expiration.get()
}

/// What hickory's proof of one record means for us.
pub(super) fn security_of(proof: Proof) -> Security {
    match proof {
        Proof::Secure => Security::Secure,
        Proof::Insecure => Security::Insecure,
        Proof::Bogus => Security::Bogus("the signatures do not validate".into()),
        Proof::Indeterminate => Security::Indeterminate,
    }
}

/// The status of an answer: the weakest of its records' proofs (RRSIGs carry no
/// proof of their own). No records at all: hickory could not say.
pub(super) fn security_of_records<'a>(records: impl Iterator<Item = &'a Record>) -> Security {
    records
        .filter(|r| r.record_type() != RecordType::RRSIG)
        .map(|r| security_of(r.proof))
        .reduce(Security::weakest)
        .unwrap_or(Security::Indeterminate)
}

/// Why `name`'s `record_type` answer is bogus, in words: the zones that serve keys
/// are found without validation, from `name` upwards, and the highest one whose keys
/// do not validate is the broken link.
pub(super) async fn bogus_reason(
    validating: &TokioResolver,
    plain: &TokioResolver,
    name: &Name,
    record_type: RecordType,
) -> String {
    let Some(zone) = zone_with_keys(plain, name.clone()).await else {
        return format!(
            "the {record_type} answer for {} does not validate",
            text(name)
        );
    };
    if validating
        .lookup(zone.clone(), RecordType::DNSKEY)
        .await
        .is_ok()
    {
        return format!(
            "the signature over the {record_type} records of {} does not verify with the keys of {} (tampered or expired)",
            text(name),
            text(&zone)
        );
    }
    let mut broken = zone;
    // Bounded by the name's labels: each step moves one zone up.
    while !broken.is_root() {
        let Some(parent) = zone_with_keys(plain, broken.base_name()).await else {
            return format!(
                "no chain of trust leads from the trust anchor to {}: no zone above it serves keys",
                text(&broken)
            );
        };
        if validating
            .lookup(parent.clone(), RecordType::DNSKEY)
            .await
            .is_ok()
        {
            break;
        }
        broken = parent;
    }
    format!(
        "the DNSKEY records of {} match no DS record of its parent zone or trust anchor",
        text(&broken)
    )
}

/// The nearest zone at or above `name` that serves DNSKEY records, asked without
/// validation.
async fn zone_with_keys(plain: &TokioResolver, mut zone: Name) -> Option<Name> {
    loop {
        let has_keys = plain
            .lookup(zone.clone(), RecordType::DNSKEY)
            .await
            .is_ok_and(|l| {
                l.answers()
                    .iter()
                    .any(|r| r.record_type() == RecordType::DNSKEY)
            });
        if has_keys {
            return Some(zone);
        }
        if zone.is_root() {
            return None;
        }
        zone = zone.base_name();
    }
}

fn text(name: &Name) -> String {
    super::resolver::ascii(name)
}
