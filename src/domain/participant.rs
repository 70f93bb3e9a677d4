//! KP participants: the registry shipped with kpcert and each participant's standing.

use super::certificate::text_rule;
use super::country::CountryCode;

/// A participant, or a trading entity that meets the scheme's minimum requirements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipantKind {
    Participant,
    TradingEntity,
}

impl ParticipantKind {
    /// The registry's word for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantKind::Participant => "participant",
            ParticipantKind::TradingEntity => "trading_entity",
        }
    }

    /// Parses the registry's word.
    pub fn parse(s: &str) -> Option<ParticipantKind> {
        match s {
            "participant" => Some(ParticipantKind::Participant),
            "trading_entity" => Some(ParticipantKind::TradingEntity),
            _ => None,
        }
    }
}

/// One row of the participant registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    pub code: CountryCode,
    pub name: String,
    pub region: String,
    pub kind: ParticipantKind,
}

impl Participant {
    /// What is wrong with this registry row's text, if anything: name and region are 1 to 200
    /// characters without control characters or surrounding white space.
    pub fn problem(&self) -> Option<String> {
        for (what, text) in [("name", &self.name), ("region", &self.region)] {
            if let Err(e) = text_rule(text, 200) {
                return Some(format!("the participant's {what} {e}"));
            }
        }
        None
    }
}

/// The registry file embedded in the binary (data/participants.csv).
pub const REGISTRY_CSV: &str = include_str!("../../data/participants.csv");

/// Parses the registry text: `#` comments, a header line, then `code,name,region,kind` rows.
/// Names contain no commas. Codes must be unique.
pub fn parse_registry(text: &str) -> Result<Vec<Participant>, String> {
    let mut rows = Vec::new();
    let mut header_seen = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header_seen {
            if line != "code,name,region,kind" {
                return Err(format!(
                    "line {}: expected the header code,name,region,kind",
                    n + 1
                ));
            }
            header_seen = true;
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let [code, name, region, kind] = fields[..] else {
            return Err(format!("line {}: expected 4 fields", n + 1));
        };
        let code = CountryCode::participant(code)
            .ok_or_else(|| format!("line {}: {code:?} is not a participant code", n + 1))?;
        let kind = ParticipantKind::parse(kind)
            .ok_or_else(|| format!("line {}: unknown kind {kind:?}", n + 1))?;
        if rows.iter().any(|p: &Participant| p.code == code) {
            return Err(format!("line {}: {code} is listed twice", n + 1));
        }
        rows.push(Participant {
            code,
            name: name.to_owned(),
            region: region.to_owned(),
            kind,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_registry_parses() {
        let rows = parse_registry(REGISTRY_CSV).unwrap();
        let participants = rows
            .iter()
            .filter(|p| p.kind == ParticipantKind::Participant)
            .count();
        assert_eq!(participants, 60);
        for code in ["BW", "AE", "IN", "EU", "NA", "CF", "VE", "RU"] {
            assert!(rows.iter().any(|p| p.code.as_str() == code), "{code}");
        }
        assert!(!rows.iter().any(|p| p.code.as_str() == "KE"));
    }

    #[test]
    fn bad_registries_are_rejected() {
        assert!(parse_registry("code,name,region,kind\nXX,Nowhere,Africa,participant").is_err());
        assert!(parse_registry(
            "code,name,region,kind\nBW,B,Africa,participant\nBW,B,Africa,participant"
        )
        .is_err());
        assert!(parse_registry("BW,B,Africa,participant").is_err());
    }
}
