//! Decimal digits written by hand into fixed slots, for the texts a border check writes many
//! times (dates, times, certificate numbers, amounts): the formatting machinery cost about a
//! tenth of a border check's own work (issue 14). Each writer has a unit test against `format!`.

/// Writes `n` in decimal into `slot`, zero-padded to its length (the digits that do not fit
/// are dropped: callers size the slot, with [`decimal_len`] where it varies).
pub(crate) fn put_digits(slot: &mut [u8], mut n: u64) {
    for c in slot.iter_mut().rev() {
        *c = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// How many decimal digits `n` has (1 for 0).
pub(crate) fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}
