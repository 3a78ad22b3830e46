//! A text's key terms in one buffer: the value `score::terms` extracts once per mention and
//! `detect` reads (clusters, incident terms) without copying it into a list of strings.

/// Key terms of one text, in order of appearance (repeats included), in one buffer: two
/// allocations whatever the number of terms (a `Vec<String>` made one per term, about four
/// and a half per scored text; `cargo bench --bench alloc`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermList {
    buf: String,
    ends: Vec<u32>,
}

impl TermList {
    /// The terms `terms` yields, in order, with room reserved for `bytes` bytes of `n` terms
    /// (an upper bound keeps it at two allocations).
    pub fn collect<'a>(terms: impl Iterator<Item = &'a str>, bytes: usize, n: usize) -> TermList {
        let mut list = TermList {
            buf: String::with_capacity(bytes),
            ends: Vec::with_capacity(n),
        };
        for t in terms {
            list.push(t);
        }
        list
    }

    /// Appends one term.
    pub fn push(&mut self, term: &str) {
        self.buf.push_str(term);
        // A text is at most a few KiB; a buffer past 4 GiB cannot come from one text.
        self.ends
            .push(u32::try_from(self.buf.len()).unwrap_or(u32::MAX));
    }

    /// How many terms.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The terms, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0usize;
        self.ends.iter().map(move |&end| {
            let end = (end as usize).min(self.buf.len());
            let t = self.buf.get(start..end).unwrap_or("");
            start = end;
            t
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_list_keeps_its_terms_in_order_with_repeats() {
        let list = TermList::collect(["boiler", "gas", "boiler", "ünïcode"].into_iter(), 0, 0);
        assert_eq!(list.len(), 4);
        assert_eq!(
            list.iter().collect::<Vec<_>>(),
            ["boiler", "gas", "boiler", "ünïcode"]
        );
        assert!(TermList::default().is_empty());
        assert_eq!(TermList::default().iter().count(), 0);
    }
}
