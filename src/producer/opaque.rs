//! The per-message delivery opaque: two timestamps packed into one `usize`, so the hot path passes
//! a message's due and enqueue instants through librdkafka without allocating.
//!
//! Layout (64 bits): `enqueue_us` in the high 40 bits (12.7 days since the run's start: the
//! scenario validator refuses a longer run), send lag in the low 24 bits. A lag below 2^23 µs
//! (8.4 s) is exact; a longer one (flag bit 23 set) is stored as an 18-bit mantissa shifted by a
//! 5-bit exponent, so any lag a 12.7-day run can have fits, within 8 parts per million: finer than
//! the histograms' three significant digits. Nothing is clamped.

const LAG_BITS: u32 = 24;
const LAG_MASK: u64 = (1 << LAG_BITS) - 1;
const LONG_FLAG: u64 = 1 << (LAG_BITS - 1);
const EXACT_MAX: u64 = LONG_FLAG - 1;
const MANTISSA_BITS: u32 = 18;
const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;
/// The largest enqueue instant that fits: about 12.7 days.
pub const MAX_ENQUEUE_US: u64 = (1 << (64 - LAG_BITS)) - 1;

const _: () = assert!(
    crate::scenario::MAX_RUN.as_micros() <= MAX_ENQUEUE_US as u128,
    "every instant of the longest run the validator allows fits"
);
const _: () = assert!(
    usize::BITS == 64,
    "kbench packs two timestamps into a 64-bit usize"
);

/// Packs (enqueue instant, send lag) in microseconds. The run's length is validated up front,
/// so `enqueue_us <= MAX_ENQUEUE_US` and `lag_us <= enqueue_us`.
#[inline]
pub fn pack(enqueue_us: u64, lag_us: u64) -> usize {
    let lag = if lag_us <= EXACT_MAX {
        lag_us
    } else {
        let exponent = (u64::BITS - lag_us.leading_zeros()).saturating_sub(MANTISSA_BITS) as u64;
        LONG_FLAG | (exponent.min(31) << MANTISSA_BITS) | ((lag_us >> exponent) & MANTISSA_MASK)
    };
    debug_assert!(enqueue_us <= MAX_ENQUEUE_US, "validated run length");
    ((enqueue_us.min(MAX_ENQUEUE_US) << LAG_BITS) | lag) as usize
}

/// Unpacks into (due instant, enqueue instant) in microseconds.
#[inline]
pub fn unpack(opaque: usize) -> (u64, u64) {
    let v = opaque as u64;
    let enqueue = v >> LAG_BITS;
    let lag = v & LAG_MASK;
    let lag_us = if lag & LONG_FLAG != 0 {
        (lag & MANTISSA_MASK) << ((lag >> MANTISSA_BITS) & 31)
    } else {
        lag
    };
    (enqueue.saturating_sub(lag_us), enqueue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly_below_8s_of_lag() {
        for (enq, lag) in [
            (0, 0),
            (1, 0),
            (5_000_000, 1234),
            (MAX_ENQUEUE_US, EXACT_MAX),
        ] {
            assert_eq!(unpack(pack(enq, lag)), (enq - lag, enq));
        }
    }

    #[test]
    fn long_lags_keep_eight_parts_per_million() {
        let enq = 3_600_000_000;
        let lag = 30_000_123; // 30 s
        let (due, e) = unpack(pack(enq, lag));
        assert_eq!(e, enq);
        assert!((enq - due).abs_diff(lag) * 125_000 <= lag, "{}", enq - due);
        // The longest run the validator allows, lagging all the way: nothing saturates.
        let (due, e) = unpack(pack(MAX_ENQUEUE_US, MAX_ENQUEUE_US));
        assert_eq!(e, MAX_ENQUEUE_US);
        assert!(due * 125_000 <= MAX_ENQUEUE_US, "{due}");
        for lag in [
            EXACT_MAX + 1,
            1 << 30,
            (1 << 35) + 12_345,
            MAX_ENQUEUE_US / 3,
        ] {
            let (due, _) = unpack(pack(MAX_ENQUEUE_US, lag));
            let got = MAX_ENQUEUE_US - due;
            assert!(got <= lag && (lag - got) * 125_000 <= lag, "{lag}: {got}");
        }
    }
}
