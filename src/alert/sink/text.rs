//! Making text that the public wrote (post text, author handles, post URLs, and the summary
//! that quotes them) safe for each receiver's format. Everything in an alert line that came
//! from a post is hostile: `<!channel>` in a Slack message pings the whole channel, a
//! `<https://evil|label>` link disguises its target, a `javascript:` URL in a link runs in
//! whoever clicks it, and a right-to-left override makes the on-call read something else.
//!
//! | format | rule |
//! |---|---|
//! | every format | [`plain`]: control characters (but newline and tab) and bidi overrides removed |
//! | Slack mrkdwn | [`mrkdwn`]: `&` `<` `>` as entities (neutralises `<!channel>`, `<!here>`, `<@U…>`, `<url\|label>`); `*` `_` `~` `` ` `` fenced by zero-width spaces so they cannot open or close formatting |
//! | Slack link | [`slack_link`]: http(s) targets only, `\| < >` and spaces percent-encoded, `&` as `&amp;` |
//! | any link | [`web_url`]: only `http://` and `https://` URLs are links |
//! | JSON | serde only, never string concatenation |
//!
//! The console pager prints [`one_line`] text. The HTML report (`replay --report`) escapes
//! with its own `esc`; no sink sends HTML.

/// `s` on one line for a terminal: no escape sequence reaches the terminal and no post can
/// fake a line of its own.
pub use crate::domain::alert::one_line;
// Whether a character is removed from any text we send.
use crate::domain::alert::is_unsafe_char as unsafe_char;

/// Zero-width space: fences a formatting character so Slack sees no word boundary next to it.
const ZWSP: char = '\u{200B}';

/// `s` without control characters (newline and tab kept) or bidi controls.
pub fn plain(s: &str) -> String {
    s.chars().filter(|&c| !unsafe_char(c)).collect()
}

/// `s` (a value from the configuration: a team, an incident id) with only Slack's three
/// control characters escaped, `&` `<` `>`, cut to at most `max` characters; formatting
/// characters are left alone so ids stay copyable.
pub fn entities(s: &str, max: usize) -> String {
    escape(s, max, false)
}

/// `s` as Slack mrkdwn that shows exactly the characters of `s` and triggers nothing: no
/// mention, no link, no formatting. Cut so the result has at most `max` characters (an `…`
/// ends a cut text), never inside an entity.
pub fn mrkdwn(s: &str, max: usize) -> String {
    escape(s, max, true)
}

fn escape(s: &str, max: usize, fence: bool) -> String {
    let escaped_len = |c: char| match c {
        '&' => 5,
        '<' | '>' => 4,
        '*' | '_' | '~' | '`' if fence => 3,
        _ => 1,
    };
    let mut out = String::with_capacity(s.len());
    let mut len = 0;
    let total: usize = s
        .chars()
        .filter(|&c| !unsafe_char(c))
        .map(escaped_len)
        .sum();
    let budget = if total <= max {
        max
    } else {
        max.saturating_sub(1)
    };
    for c in s.chars().filter(|&c| !unsafe_char(c)) {
        let n = escaped_len(c);
        if len + n > budget {
            out.push('…');
            return out;
        }
        len += n;
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '~' | '`' if fence => {
                out.push(ZWSP);
                out.push(c);
                out.push(ZWSP);
            }
            c => out.push(c),
        }
    }
    out
}

/// `u` when it is an `http://` or `https://` URL (the only links we ever send), else `None`.
/// A URL with whitespace, a control or a bidi override inside is no link either: a browser
/// would not take it as one, and in a page's link list it could show the on-call a different
/// target or a line of its own.
pub fn web_url(u: &str) -> Option<&str> {
    let u = u.trim();
    let lower: String = u.chars().take(8).collect::<String>().to_ascii_lowercase();
    let ok = (lower.starts_with("http://") && u.len() > 7)
        || (lower.starts_with("https://") && u.len() > 8);
    // `is_whitespace` covers the line and paragraph separators (U+2028, U+2029) too.
    let clean = !u.chars().any(|c| c.is_whitespace() || unsafe_char(c));
    (ok && clean).then_some(u)
}

/// A Slack link `<target|label>` to `url`, or `None` when `url` is not a web URL. The target
/// has every character that could end it or start another token percent-encoded; the label
/// is escaped like any mrkdwn text.
pub fn slack_link(url: &str, label: &str, max_label: usize) -> Option<String> {
    let url = web_url(url)?;
    let mut target = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '|' => target.push_str("%7C"),
            '<' => target.push_str("%3C"),
            '>' => target.push_str("%3E"),
            '&' => target.push_str("&amp;"),
            c if c.is_whitespace() || unsafe_char(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    target.push_str(&format!("%{b:02X}"));
                }
            }
            c => target.push(c),
        }
    }
    Some(format!("<{target}|{}>", mrkdwn(label, max_label)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_mrkdwn_neutralises_slack_control_sequences() {
        let s = mrkdwn("<!channel> <@U1> <https://e.x|p> a&b *b* _i_ ~s~ `c`", 1000);
        assert_eq!(
            s,
            "&lt;!channel&gt; &lt;@U1&gt; &lt;https://e.x|p&gt; a&amp;b \u{200B}*\u{200B}b\u{200B}*\u{200B} \
             \u{200B}_\u{200B}i\u{200B}_\u{200B} \u{200B}~\u{200B}s\u{200B}~\u{200B} \u{200B}`\u{200B}c\u{200B}`\u{200B}"
        );
        assert_eq!(mrkdwn("a\u{202E}b\u{0007}c\nd", 100), "abc\nd");
    }

    #[test]
    fn text_mrkdwn_cuts_within_the_limit_and_never_inside_an_entity() {
        let s = mrkdwn(&"<".repeat(100), 10);
        assert_eq!(s, "&lt;&lt;…");
        assert!(s.chars().count() <= 10);
        assert_eq!(mrkdwn("abc", 3), "abc");
        assert_eq!(mrkdwn("abcd", 3), "ab…");
        assert_eq!(entities("a_b <x>", 100), "a_b &lt;x&gt;");
    }

    #[test]
    fn text_links_only_to_the_web_and_with_a_safe_target() {
        assert_eq!(web_url("javascript:alert(1)"), None);
        assert_eq!(web_url("HTTPS://x.example/a"), Some("HTTPS://x.example/a"));
        assert_eq!(web_url("https://"), None);
        assert_eq!(slack_link("data:text/html,<b>", "x", 10), None);
        assert_eq!(
            slack_link("https://e.x/a>|<!here>b&c", "<!here>", 50).unwrap(),
            "<https://e.x/a%3E%7C%3C!here%3Eb&amp;c|&lt;!here&gt;>"
        );
        // Inside a URL, a right-to-left override, an escape sequence or a line break makes it
        // no link at all (a PagerDuty link shows its target as sent).
        for bad in [
            "https://e.x/\u{202E}gpj.exe",
            "https://e.x/a\u{1b}]8;;https://evil.example\u{7}",
            "https://e.x/a\nhidden",
            "https://e.x/a b",
            "https://e.x/a\u{2028}b",
        ] {
            assert_eq!(web_url(bad), None, "{bad:?}");
            assert_eq!(slack_link(bad, "x", 10), None, "{bad:?}");
        }
        assert_eq!(
            web_url("  https://e.x/café?q=1 "),
            Some("https://e.x/café?q=1")
        );
    }
}
