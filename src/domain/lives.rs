//! Every issued certificate's life, by number: one persistent vector a participant and year of
//! issue, indexed by serial. Serials run from 1 without gaps (the state refuses any other), so
//! each vector is dense: a life costs one pointer in the index, where a hash map of numbers cost
//! a hashed key and a sparse node slot (issue 14: the audit's state and the server's lookups).
//! The vectors are persistent (`imbl`), so the copy readers hold and the writer's next change
//! share all but the changed path.

use std::sync::Arc;

use imbl::{OrdMap, Vector};

use super::certificate::CertificateNumber;
use super::country::CountryCode;
use super::state::CertificateLife;

/// Lives by number; iterated in (participant, year, serial) order (which is not the order of
/// the numbers' texts past serial 999,999).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lives {
    series: OrdMap<(CountryCode, i64), Vector<Arc<CertificateLife>>>,
}

/// A life for a number that is neither recorded nor the next serial of its series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfSequence;

/// The position of `number` in its series.
fn position(number: &CertificateNumber) -> Option<usize> {
    usize::try_from(number.serial().checked_sub(1)?).ok()
}

impl Lives {
    /// The life of `number`, if it was recorded.
    pub fn get(&self, number: &CertificateNumber) -> Option<&Arc<CertificateLife>> {
        self.series
            .get(&(number.participant(), number.year()))?
            .get(position(number)?)
    }

    /// Records `life` as `number`'s: replaces a recorded life, or adds the next serial of its
    /// participant and year; any other number is refused and nothing changes.
    pub fn insert(
        &mut self,
        number: &CertificateNumber,
        life: Arc<CertificateLife>,
    ) -> Result<(), OutOfSequence> {
        let key = (number.participant(), number.year());
        let i = position(number).ok_or(OutOfSequence)?;
        let recorded = self.series.get(&key).map_or(0, Vector::len);
        if i > recorded {
            return Err(OutOfSequence);
        }
        let series = self.series.entry(key).or_default();
        if i == recorded {
            series.push_back(life);
        } else {
            series.set(i, life);
        }
        Ok(())
    }

    /// How many lives are recorded (the sum of the last serials).
    pub fn len(&self) -> usize {
        self.series.values().map(Vector::len).sum()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// The last serial recorded for `participant` in `year` (0 for none).
    pub fn last_serial(&self, participant: CountryCode, year: i64) -> u64 {
        self.series
            .get(&(participant, year))
            .map_or(0, |lives| lives.len() as u64)
    }

    /// Each participant and year with certificates, and its last serial, in order.
    pub fn series(&self) -> impl Iterator<Item = (CountryCode, i64, u64)> + '_ {
        self.series
            .iter()
            .map(|(&(participant, year), lives)| (participant, year, lives.len() as u64))
    }

    /// Every life with its number, in (participant, year, serial) order.
    pub fn iter(&self) -> impl Iterator<Item = (CertificateNumber, &Arc<CertificateLife>)> {
        self.iter_where(|_| true)
    }

    /// The lives `keep` accepts, with their numbers, in (participant, year, serial) order (a
    /// number is written only for a life kept: the trust bundle keeps the few that changed).
    pub fn iter_where(
        &self,
        keep: fn(&CertificateLife) -> bool,
    ) -> impl Iterator<Item = (CertificateNumber, &Arc<CertificateLife>)> {
        self.series
            .iter()
            .flat_map(move |(&(participant, year), lives)| {
                lives
                    .iter()
                    .zip(1u64..)
                    .filter(move |(life, _)| keep(life))
                    .map(move |(life, serial)| {
                        (CertificateNumber::new(participant, year, serial), life)
                    })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Date;

    fn life(index: u64) -> Arc<CertificateLife> {
        let day = Date::parse("2026-12-04").expect("a date");
        Arc::new(CertificateLife {
            issued_index: index,
            seal_hash: None,
            issued_on: day,
            expires_on: day,
            facts: None,
            confirmed: None,
            voided: None,
            drawn: Default::default(),
        })
    }

    fn number(p: &str, year: i64, serial: u64) -> CertificateNumber {
        CertificateNumber::new(CountryCode::participant(p).expect("a code"), year, serial)
    }

    #[test]
    fn lives_are_found_by_number_and_only_the_next_serial_is_added() {
        let mut lives = Lives::default();
        assert_eq!(
            lives.insert(&number("BW", 2026, 2), life(0)),
            Err(OutOfSequence)
        );
        assert!(lives.is_empty());
        for (i, n) in [
            number("BW", 2026, 1),
            number("BW", 2026, 2),
            number("AE", 2026, 1),
            number("BW", 2025, 1),
        ]
        .iter()
        .enumerate()
        {
            assert_eq!(lives.insert(n, life(i as u64)), Ok(()));
        }
        assert_eq!(lives.len(), 4);
        assert_eq!(
            lives.last_serial(CountryCode::participant("BW").unwrap(), 2026),
            2
        );
        assert_eq!(
            lives.last_serial(CountryCode::participant("BW").unwrap(), 2024),
            0
        );
        assert_eq!(lives.series().count(), 3);
        assert_eq!(
            lives.get(&number("BW", 2026, 2)).map(|l| l.issued_index),
            Some(1)
        );
        assert_eq!(lives.get(&number("BW", 2026, 3)), None);
        assert_eq!(lives.get(&number("AE", 2025, 1)), None);
        assert_eq!(lives.get(&number("BW", 2026, u64::MAX)), None);
        // Replacing a recorded life keeps the count.
        assert_eq!(lives.insert(&number("BW", 2026, 1), life(9)), Ok(()));
        assert_eq!(lives.len(), 4);
        assert_eq!(
            lives.get(&number("BW", 2026, 1)).map(|l| l.issued_index),
            Some(9)
        );
        let later: Vec<String> = lives
            .iter_where(|l| l.issued_index >= 2)
            .map(|(n, _)| n.as_str().to_owned())
            .collect();
        assert_eq!(
            later,
            ["AE-2026-000001", "BW-2025-000001", "BW-2026-000001"]
        );
        let order: Vec<String> = lives.iter().map(|(n, _)| n.as_str().to_owned()).collect();
        assert_eq!(
            order,
            [
                "AE-2026-000001",
                "BW-2025-000001",
                "BW-2026-000001",
                "BW-2026-000002"
            ]
        );
        // A copy shares what did not change and does not see later changes.
        let before = lives.clone();
        assert_eq!(lives.insert(&number("BW", 2026, 3), life(5)), Ok(()));
        assert_eq!(before.get(&number("BW", 2026, 3)), None);
        assert_eq!(before.len(), 4);
    }
}
