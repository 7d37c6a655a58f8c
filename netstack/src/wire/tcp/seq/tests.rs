use super::*;

const fn s(value: u32) -> SeqNumber {
    SeqNumber(value)
}

#[test]
fn add_and_sub_wrap_around() {
    assert_eq!(s(0xffff_fff0) + 0x20, s(0x10));
    assert_eq!(s(0x10) - 0x20, s(0xffff_fff0));
    assert_eq!(s(0x10) - s(0xffff_fff0), 0x20);
    assert_eq!(s(0xffff_fff0) - s(0x10), -0x20);
    assert_eq!(s(u32::MAX) + 1, s(0));
    assert_eq!(s(0) - 1usize, s(u32::MAX));

    let mut seq = s(0xffff_ffff);
    seq += 1;
    assert_eq!(seq, s(0));
    seq -= 2;
    assert_eq!(seq, s(0xffff_fffe));
    seq += 0;
    assert_eq!(seq, s(0xffff_fffe));
}

#[test]
fn comparisons_across_wrap_around() {
    let before = s(0xffff_fff0);
    let after = before + 0x20;
    assert!(before.lt(after));
    assert!(before.le(after));
    assert!(!before.gt(after));
    assert!(!before.ge(after));
    assert!(after.gt(before));
    assert!(after.ge(before));
    assert!(!after.lt(before));
    assert_eq!(before.max(after), after);
    assert_eq!(after.max(before), after);
    assert_eq!(before.min(after), before);
    assert_eq!(after.min(before), before);

    let same = s(42);
    assert!(same.le(same) && same.ge(same));
    assert!(!same.lt(same) && !same.gt(same));
    assert_eq!(same.max(same), same);
}

#[test]
fn comparisons_near_the_half_circle() {
    let base = s(0x1234_5678);
    // Just inside the half circle: well ordered, in both directions.
    let near = base + 0x7fff_ffff;
    assert_eq!(near - base, i32::MAX);
    assert_eq!(base - near, -i32::MAX);
    assert!(base.lt(near));
    assert!(near.gt(base));

    // Exactly 2^31 apart: ambiguous. Each is "before" the other, as with Linux's before().
    let half = SeqNumber(base.0.wrapping_add(0x8000_0000));
    assert_eq!(half - base, i32::MIN);
    assert_eq!(base - half, i32::MIN);
    assert!(base.lt(half) && half.lt(base));
    assert!(!base.gt(half) && !half.gt(base));

    // Past the half circle the order flips: the later number now looks earlier.
    let far = SeqNumber(base.0.wrapping_add(0x8000_0001));
    assert!(far.lt(base));
    assert_eq!(far - base, i32::MIN + 1);
}

#[test]
fn lt_ge_and_le_gt_are_negations() {
    let values = [
        0,
        1,
        0x7fff_ffff,
        0x8000_0000,
        0x8000_0001,
        0xffff_fffe,
        u32::MAX,
    ];
    for &a in &values {
        for &b in &values {
            let (a, b) = (s(a), s(b));
            assert_eq!(a.lt(b), !a.ge(b), "{a} {b}");
            assert_eq!(a.le(b), !a.gt(b), "{a} {b}");
            if a != b && (a - b) != i32::MIN {
                assert_eq!(a.lt(b), b.gt(a), "{a} {b}");
            }
        }
    }
}

#[test]
fn in_window() {
    let start = s(0xffff_fff0);
    assert!(!start.in_window(start, 0));
    assert!(start.in_window(start, 1));
    assert!((start + 0x1f).in_window(start, 0x20));
    assert!(!(start + 0x20).in_window(start, 0x20));
    assert!(!(start - 1).in_window(start, 0x20));
    assert!(s(0x0f).in_window(start, 0x20));
    assert!(!s(0x10).in_window(start, 0x20));
    // A window as large as the circle contains every number.
    assert!((start - 1).in_window(start, 1 << 32));
    // A window of 2^31 + 1 still works: the offset is unsigned.
    assert!((start + 0x7fff_ffff).in_window(start, 0x8000_0001));
    assert!(SeqNumber(start.0.wrapping_add(0x8000_0000)).in_window(start, 0x8000_0001));
}

#[test]
fn conversions_and_display() {
    assert_eq!(SeqNumber::from(7), s(7));
    assert_eq!(u32::from(s(7)), 7);
    assert_eq!(s(4_000_000_000).to_string(), "4000000000");
    assert_eq!(format!("{:?}", s(3)), "SeqNumber(3)");
    assert_eq!(SeqNumber::default(), s(0));
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "2^31 or more")]
fn huge_steps_are_caught_in_debug_builds() {
    let _ = s(0) + 0x8000_0000usize;
}
