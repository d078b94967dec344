//! The flag-only rules for web content: HTML/script markup, URLs and bare domains, e-mail
//! addresses. Regular expressions, built once; should one fail to build it matches nothing, which
//! can only lose a flag, never let a blocked text through (a test builds every one).

use std::sync::LazyLock;

use regex::Regex;

use super::detect::{char_before, chars_after, is_word};

/// Any tag: `<b>`, `<img src=x onerror=alert(1)>`, `</div>`, `<br/>`.
pub(super) static MARKUP_TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>").ok());

/// Markup that is dangerous even unclosed: script-capable elements, comments, doctypes, CDATA
/// sections and processing instructions.
pub(super) static MARKUP_DANGEROUS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"</?(?i-u:script|iframe|frame|frameset|object|embed|applet|svg|math|img|style|link",
        r"|meta|base|form|noscript|marquee|isindex)\b",
        r"|<!--|<!(?i-u:doctype)\b|<!\[(?i-u:cdata)\[|<\?(?i-u:xml|php)\b",
    ))
    .ok()
});

/// A URL with a scheme.
pub(super) static URL_SCHEME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(?i-u:https?|ftps?|sftp)://[^\s<>]").ok());

/// A host name starting with `www.`.
pub(super) static URL_WWW: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\b(?i-u:www)\.[A-Za-z0-9-]+\.[A-Za-z]{2,}").ok());

/// A bare domain; group 1 is the top-level domain.
pub(super) static URL_DOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+([A-Za-z]{2,24})").ok()
});

/// An e-mail address.
pub(super) static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?",
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}",
    ))
    .ok()
});

/// Top-level domains that make a bare `name.tld` a URL without a path. Left out on purpose:
/// those that are common file extensions (`rs`, `md`, `sh`, `py`, `pl`, `cc`, `so`, `app`, `zip`,
/// `mov`, …) or English words (`at`, `be`, `in`, `it`, `me`, `no`, `to`, `us`, …).
const COMMON_TLDS: &[&str] = &[
    "ai", "ar", "au", "biz", "blog", "br", "ca", "ch", "cl", "cloud", "club", "cn", "co", "com",
    "cz", "de", "dev", "dk", "edu", "es", "eu", "fi", "fr", "gov", "gr", "hk", "hu", "ie", "il",
    "info", "int", "io", "jp", "kr", "live", "mil", "mx", "net", "news", "nl", "nz", "online",
    "org", "page", "pt", "ro", "ru", "se", "sg", "shop", "site", "tech", "top", "tr", "tv", "tw",
    "ua", "uk", "xyz", "za",
];

pub(super) fn has_markup(text: &str) -> bool {
    let dangerous = MARKUP_DANGEROUS.as_ref().is_some_and(|re| {
        re.find_iter(text).any(|found| {
            // `Array<Object>`, `Vec<Frame>`, `Box<Link>`: element names that are also type names
            // count only when not glued to a word; `script` and `iframe` always count.
            let name = found.as_str().trim_start_matches(['<', '/']);
            !char_before(text, found.start()).is_some_and(is_word)
                || !name.starts_with(|c: char| c.is_ascii_alphabetic())
                || name.eq_ignore_ascii_case("script")
                || name.eq_ignore_ascii_case("iframe")
        })
    });
    if dangerous {
        return true;
    }
    let Some(tag) = MARKUP_TAG.as_ref() else {
        return false;
    };
    tag.find_iter(text).any(|found| {
        // `Vec<T>`, `Option<String>`: a bare `<Name>` glued to a word is a generic type.
        let generic = !found
            .as_str()
            .contains(|c: char| c == '/' || c.is_whitespace())
            && char_before(text, found.start()).is_some_and(is_word);
        !generic
    })
}

pub(super) fn has_url(text: &str) -> bool {
    if [&URL_SCHEME, &URL_WWW]
        .into_iter()
        .any(|re| re.as_ref().is_some_and(|re| re.is_match(text)))
    {
        return true;
    }
    let Some(domain) = URL_DOMAIN.as_ref() else {
        return false;
    };
    domain.captures_iter(text).any(|captures| {
        let (Some(whole), Some(tld)) = (captures.get(0), captures.get(1)) else {
            return false;
        };
        if char_before(text, whole.start())
            .is_some_and(|c| is_word(c) || matches!(c, '.' | '@' | '-'))
        {
            return false;
        }
        let mut after = chars_after(text, whole.end());
        match (after.next(), after.next()) {
            (Some(c), _) if is_word(c) || matches!(c, '@' | '-') => false,
            (Some('/'), Some(next)) if !next.is_whitespace() => true,
            (Some(':'), Some(next)) if next.is_ascii_digit() => true,
            _ => COMMON_TLDS.contains(&tld.as_str()),
        }
    })
}
