//! Brand attribution: which configured brands a mention is about.
//!
//! Two layers:
//!
//! * [`BrandMatcher`] (in [`matcher`]) finds brands named in a mention's text. Every brand's
//!   terms, handles, hashtags and exclude phrases go into **one** Aho-Corasick automaton with a
//!   pattern → (brand, kind) table, so matching costs one pass over the text. Above 20,000
//!   patterns (about 4,000 brands) the patterns made of plain ASCII words are looked up by hash
//!   instead (`words`: one pass over the text whatever their number) and the rest go into
//!   automata of at most 100,000 patterns each, which bounds the memory peak of building them. Matching is case-insensitive, Unicode-aware and whole-word; handles match only
//!   `@handle` tokens, hashtags only `#tag` tokens; nothing inside URLs or e-mail addresses
//!   counts; a term occurrence that lies inside one of its brand's exclude phrases does not count
//!   (docs/contracts.md §2). See the [`matcher`] module docs for the exact rules.
//! * [`Attributor`] (in [`thread`]) adds thread attribution: a reply, quote or repost whose
//!   `parent_id` points at a recently attributed mention inherits that mention's brands, through
//!   chains of replies. Its [`ThreadIndex`] is bounded in time (retention, via
//!   [`Attributor::evict`]) and in size (capacity, oldest first).
//! * [`naming`] grades how plainly a mention names its brand (a handle or a capitalised proper
//!   noun, or only an ordinary word), so that detection can tell a brand called "orchard" from
//!   the orchards.

pub mod matcher;
pub mod naming;
pub mod thread;
mod words;

pub use matcher::{BrandMatcher, MatcherError};
pub use thread::{Attribution, Attributor, ThreadIndex};
