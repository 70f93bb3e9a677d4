//! Country codes: ISO 3166-1 alpha-2, validated once into a newtype.
//!
//! The accepted list is the 249 officially assigned ISO 3166-1 alpha-2 codes (as published by the
//! ISO 3166 Maintenance Agency; list taken from pycountry 26.2.16). `EU` is not a country: it is an
//! exceptionally reserved code that kpcert accepts only where a KP *participant* is meant.
//! Namibia is `NA`, an ordinary code like any other.

use std::fmt;

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted.
pub const ISO_3166_1_ALPHA_2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

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
        assert!(ISO_3166_1_ALPHA_2.windows(2).all(|w| w[0] < w[1]));
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
