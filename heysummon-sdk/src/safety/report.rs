//! The findings: the flag types, one flag, the report that collects them under its limits, and
//! the set of types one text was found to contain.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The `error` of the 422 body a blocked request is refused with.
pub const BLOCKED_ERROR: &str = "Content blocked by safety filter";

/// How many flags a [`ScanReport`] collects before it only adds flags of types it lacks.
pub const MAX_FLAGS: usize = 64;

/// The kind of a finding, written on the wire as `"xss"`, `"url"`, `"credit_card"`, `"phone"`,
/// `"email"` or `"ssn_bsn"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagType {
    /// HTML or script markup.
    Xss,
    /// A URL or bare domain.
    Url,
    /// A Luhn-valid payment card number. Blocks.
    CreditCard,
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// A US social security number or a Dutch BSN. Blocks.
    SsnBsn,
}

impl FlagType {
    /// Every flag type, in the order a report lists the flags of one field.
    pub const ALL: [FlagType; 6] = [
        Self::Xss,
        Self::Url,
        Self::CreditCard,
        Self::Phone,
        Self::Email,
        Self::SsnBsn,
    ];

    /// Whether a finding of this type refuses the request: true for [`FlagType::CreditCard`]
    /// and [`FlagType::SsnBsn`].
    pub fn blocks(self) -> bool {
        matches!(self, Self::CreditCard | Self::SsnBsn)
    }

    /// The wire name, e.g. `"credit_card"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Xss => "xss",
            Self::Url => "url",
            Self::CreditCard => "credit_card",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::SsnBsn => "ssn_bsn",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for FlagType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: what was found and where, never the matched text itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// What was found.
    #[serde(rename = "type")]
    pub kind: FlagType,
    /// Where it was found, e.g. `"question"`, `"messages[2].content"`, `"plaintext"`.
    pub field: String,
}

impl Flag {
    /// A flag of `kind` in `field`.
    pub fn new(kind: FlagType, field: impl Into<String>) -> Self {
        Self {
            kind,
            field: field.into(),
        }
    }
}

/// The findings of a scan; serialises as `{"flags":[{"type":…,"field":…},…]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// The findings, in the order the fields were scanned; within a field in the order of
    /// [`FlagType::ALL`].
    pub flags: Vec<Flag>,
}

impl ScanReport {
    /// An empty (clean) report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether any finding refuses the request ([`FlagType::blocks`]).
    pub fn blocked(&self) -> bool {
        self.flags.iter().any(|flag| flag.kind.blocks())
    }

    /// Whether nothing at all was found.
    pub fn is_clean(&self) -> bool {
        self.flags.is_empty()
    }

    /// Whether a finding of `kind` was made in any field.
    pub fn contains(&self, kind: FlagType) -> bool {
        self.flags.iter().any(|flag| flag.kind == kind)
    }

    /// Adds `flag` unless the report already has one of the same type for the same field, or
    /// already holds [`MAX_FLAGS`] flags and one of the same type. Returns whether it was added.
    pub fn push(&mut self, flag: Flag) -> bool {
        let duplicate = if self.flags.len() >= MAX_FLAGS {
            self.contains(flag.kind)
        } else {
            self.flags
                .iter()
                .any(|have| have.kind == flag.kind && have.field == flag.field)
        };
        if !duplicate {
            self.flags.push(flag);
        }
        !duplicate
    }

    /// Adds the flags of `other` after this report's own, by the rules of [`ScanReport::push`].
    pub fn merge(&mut self, other: ScanReport) {
        for flag in other.flags {
            self.push(flag);
        }
    }

    pub(super) fn add(&mut self, kinds: Kinds, field: &str) {
        for kind in kinds.iter() {
            self.push(Flag::new(kind, field));
        }
    }
}

/// A set of flag types.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Kinds(u8);

impl Kinds {
    /// Every kind of either.
    pub(super) fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub(super) fn insert(&mut self, kind: FlagType) {
        self.0 |= kind.bit();
    }

    fn contains(self, kind: FlagType) -> bool {
        self.0 & kind.bit() != 0
    }

    fn iter(self) -> impl Iterator<Item = FlagType> {
        FlagType::ALL
            .into_iter()
            .filter(move |kind| self.contains(*kind))
    }
}
