//! Country codes: ISO 3166-1 alpha-2, validated once into a newtype.
//!
//! The accepted list is the 249 officially assigned ISO 3166-1 alpha-2 codes (as published by the
//! ISO 3166 Maintenance Agency; list taken from pycountry 26.2.16). It lives in
//! `api/country-codes.txt`, the file an independent verifier reads, and is compiled in from there,
//! so the specification and the binary cannot disagree. `EU` is not a country: it is an
//! exceptionally reserved code that kpcert accepts only where a KP *participant* is meant.
//! Namibia is `NA`, an ordinary code like any other.

use std::fmt;
use std::sync::LazyLock;

/// `api/country-codes.txt`: `#` comment lines, then one code per line, sorted.
const COUNTRY_CODES_FILE: &str = include_str!("../../api/country-codes.txt");

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted and distinct (so that a code is
/// found by binary search), read once from `api/country-codes.txt`.
pub static ISO_3166_1_ALPHA_2: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| parse_codes(COUNTRY_CODES_FILE));

/// The codes of a country code file. The file is compiled in, so a malformed one fails the
/// first look-up of every run, and the unit test below, never a single odd input.
fn parse_codes(text: &'static str) -> Vec<&'static str> {
    let codes: Vec<&'static str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    for code in &codes {
        assert!(
            code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()),
            "api/country-codes.txt: {code:?} is not two upper-case letters"
        );
    }
    assert!(
        codes.windows(2).all(|w| w[0] < w[1]),
        "api/country-codes.txt must be sorted, each code once"
    );
    codes
}

/// The 27 member states of the European Union, which take part in the KP as one participant,
/// `EU`.
pub const EU_MEMBER_STATES: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// Exceptionally reserved codes that name a KP participant without being a country.
pub const RESERVED_PARTICIPANT_CODES: [&str; 1] = ["EU"];

/// Two upper-case ASCII letters that are either an assigned ISO 3166-1 code or `EU`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// Parses an assigned ISO 3166-1 alpha-2 code (a country; `EU` is rejected).
    pub fn country(s: &str) -> Option<CountryCode> {
        ISO_3166_1_ALPHA_2
            .binary_search(&s)
            .ok()
            .map(|_| CountryCode([s.as_bytes()[0], s.as_bytes()[1]]))
    }

    /// Parses a code that may name a participant: a country or `EU`.
    pub fn participant(s: &str) -> Option<CountryCode> {
        if RESERVED_PARTICIPANT_CODES.contains(&s) {
            return Some(CountryCode([s.as_bytes()[0], s.as_bytes()[1]]));
        }
        CountryCode::country(s)
    }

    /// Whether this is an EU member state (whose KP participant is `EU`).
    pub fn is_eu_member_state(&self) -> bool {
        EU_MEMBER_STATES.contains(&self.as_str())
    }

    /// The two letters, as bytes.
    pub fn to_bytes(self) -> [u8; 2] {
        self.0
    }

    /// The two letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("validated ascii")
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(ISO_3166_1_ALPHA_2.len(), 249);
        assert!(ISO_3166_1_ALPHA_2.windows(2).all(|w| w[0] < w[1]));
        assert!(!ISO_3166_1_ALPHA_2.contains(&"EU"));
        assert_eq!(CountryCode::country("NA").unwrap().as_str(), "NA");
        assert_eq!(CountryCode::country("BW").unwrap().to_string(), "BW");
        assert_eq!(CountryCode::country("EU"), None);
        assert_eq!(CountryCode::participant("EU").unwrap().as_str(), "EU");
        assert!(CountryCode::country("BE").unwrap().is_eu_member_state());
        assert!(!CountryCode::country("NO").unwrap().is_eu_member_state());
        assert!(EU_MEMBER_STATES
            .iter()
            .all(|c| CountryCode::country(c).is_some()));
        for bad in ["bw", "XX", "B", "BWA", "", "ZZ", "UK"] {
            assert_eq!(CountryCode::participant(bad), None, "{bad}");
        }
    }
}
