//! Exact decimal amounts with two decimals: carats and US dollars, never floating point.

use std::fmt;

use super::digits::{decimal_len, put_digits};

/// A non-negative amount with exactly two decimals, held as an integer count of hundredths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hundredths(u64);

/// The largest amount accepted: 10^15 units (far above world production or trade).
pub const MAX_UNITS: u64 = 1_000_000_000_000_000;

/// Why a decimal string is not an acceptable amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountError {
    Syntax,
    TooManyDecimals,
    TooLarge,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AmountError::Syntax => write!(f, "must be a decimal number such as \"1520.35\""),
            AmountError::TooManyDecimals => write!(f, "must have at most 2 decimals"),
            AmountError::TooLarge => write!(f, "must be below 10^15"),
        }
    }
}

impl Hundredths {
    /// From a count of hundredths.
    pub fn from_hundredths(n: u64) -> Option<Hundredths> {
        (n < MAX_UNITS * 100).then_some(Hundredths(n))
    }

    /// Parses `digits[.d[d]]`: no sign, no exponent, no leading `+`, no spaces.
    pub fn parse(s: &str) -> Result<Hundredths, AmountError> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Syntax);
        }
        let frac = frac.unwrap_or("");
        if s.contains('.') && frac.is_empty() {
            return Err(AmountError::Syntax);
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Syntax);
        }
        if frac.len() > 2 {
            return Err(AmountError::TooManyDecimals);
        }
        let int = int.trim_start_matches('0');
        if int.len() > 15 {
            return Err(AmountError::TooLarge);
        }
        let units: u64 = if int.is_empty() {
            0
        } else {
            int.parse().unwrap()
        };
        if units >= MAX_UNITS {
            return Err(AmountError::TooLarge);
        }
        let mut cents = 0u64;
        for (i, b) in frac.bytes().enumerate() {
            cents += (b - b'0') as u64 * if i == 0 { 10 } else { 1 };
        }
        Ok(Hundredths(units * 100 + cents))
    }

    /// The count of hundredths.
    pub fn hundredths(self) -> u64 {
        self.0
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Sum, saturating never happens below `MAX_UNITS` times the three HS codes.
    pub fn checked_add(self, other: Hundredths) -> Option<Hundredths> {
        self.0.checked_add(other.0).map(Hundredths)
    }
}

impl fmt::Display for Hundredths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{units}.{hundredths:02}`, digit by digit (`super::digits`).
        let units = self.0 / 100;
        let digits = decimal_len(units);
        let mut text = [0u8; 23];
        put_digits(&mut text[..digits], units);
        text[digits] = b'.';
        put_digits(&mut text[digits + 1..digits + 3], self.0 % 100);
        f.write_str(std::str::from_utf8(&text[..digits + 3]).expect("ascii digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_decimals() {
        let check = |s: &str, want: u64, shown: &str| {
            let h = Hundredths::parse(s).unwrap();
            assert_eq!(h.hundredths(), want, "{s}");
            assert_eq!(h.to_string(), shown);
        };
        check("1520.35", 152_035, "1520.35");
        check("845000.00", 84_500_000, "845000.00");
        check("0.01", 1, "0.01");
        check("0", 0, "0.00");
        check("7.5", 750, "7.50");
        check("007.05", 705, "7.05");
        check(
            "999999999999999.99",
            99_999_999_999_999_999,
            "999999999999999.99",
        );
    }

    #[test]
    fn rejects_everything_else() {
        use AmountError::*;
        for (s, e) in [
            ("", Syntax),
            ("-1", Syntax),
            ("+1", Syntax),
            ("1e3", Syntax),
            ("1.", Syntax),
            (".5", Syntax),
            (" 1", Syntax),
            ("1,5", Syntax),
            ("NaN", Syntax),
            ("1.234", TooManyDecimals),
            ("1000000000000000", TooLarge),
        ] {
            assert_eq!(Hundredths::parse(s), Err(e), "{s:?}");
        }
    }

    /// The hand-written text is what `format!` gave, for every number of digits.
    #[test]
    fn amounts_are_written_as_the_formatter_writes_them() {
        let mut n = 1u64;
        let mut values = vec![0, u64::MAX];
        while let Some(next) = n.checked_mul(10) {
            values.extend([n - 1, n, n + 1, next - 1]);
            n = next;
        }
        for v in values {
            assert_eq!(
                Hundredths(v).to_string(),
                format!("{}.{:02}", v / 100, v % 100),
                "{v}"
            );
        }
    }
}
