//! `smtpx expn`: the same session as `smtpx vrfy`, asking EXPN (RFC 5321 §3.5.2).

use crate::cli::ExpnArgs;
use crate::smtp::vrfy::Query;

pub fn run(args: ExpnArgs) -> u8 {
    super::vrfy::run_queries(
        Query::Expn,
        &args.lists,
        &args.server,
        &args.tls,
        &args.auth,
        &args.keep,
        &args.output,
    )
}
