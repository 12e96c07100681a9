//! One write of a bench session: commands, and at most one piece of the shared,
//! pre-encoded message content, referred to rather than held, so a large message costs
//! no memory per session.

use std::ops::Range;

use super::workload::Workload;

/// Which encoded content a write carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A range of [`Workload::data_wire`].
    Data(Range<usize>),
    /// A range of [`Workload::bdat_wire`].
    Bdat(Range<usize>),
}

/// One write: commands, at most one piece of shared content, more commands.
#[derive(Debug, Default)]
pub struct Outgoing {
    pub head: Vec<u8>,
    pub content: Option<Content>,
    pub tail: Vec<u8>,
}

impl Outgoing {
    /// Where the next command goes: after the content, once there is content.
    pub(super) fn commands(&mut self) -> &mut Vec<u8> {
        if self.content.is_some() {
            &mut self.tail
        } else {
            &mut self.head
        }
    }

    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.content.is_none() && self.tail.is_empty()
    }

    pub fn clear(&mut self) {
        self.head.clear();
        self.content = None;
        self.tail.clear();
    }

    /// The content bytes this write carries.
    pub fn content_bytes<'w>(&self, workload: &'w Workload) -> &'w [u8] {
        match &self.content {
            None => &[],
            Some(Content::Data(r)) => &workload.data_wire()[r.clone()],
            Some(Content::Bdat(r)) => &workload.bdat_wire()[r.clone()],
        }
    }

    pub fn len(&self, workload: &Workload) -> usize {
        self.head.len() + self.content_bytes(workload).len() + self.tail.len()
    }
}
