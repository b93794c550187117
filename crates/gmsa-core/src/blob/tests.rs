use super::*;
use proptest::prelude::*;

const BLOB_A: &[u8] = include_bytes!("../../../../tests/data/blob-a.bin");
const BLOB_B: &[u8] = include_bytes!("../../../../tests/data/blob-b.bin");
const BLOB_B_B64: &str = include_str!("../../../../tests/data/blob-b.b64");
/// Reference §6.5: 20 d 3 h, and that minus MaxClockSkew (5 min).
const QUERY_TICKS: u64 = 17_388_000_000_000;
const UNCHANGED_TICKS: u64 = QUERY_TICKS - 3_000_000_000;

fn set_u16(blob: &[u8], at: usize, v: u16) -> Vec<u8> {
    let mut b = blob.to_vec();
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    b
}

fn set_u32(blob: &[u8], at: usize, v: u32) -> Vec<u8> {
    let mut b = blob.to_vec();
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    b
}

/// Lays a blob out at the given offsets (no previous when `previous` is None); `len` is the
/// total size. Passwords get their terminator appended.
fn layout(
    len: usize,
    current: (u16, &[u8]),
    previous: Option<(u16, &[u8])>,
    intervals: (u16, u16),
) -> Vec<u8> {
    let mut b = vec![0u8; len];
    b[..2].copy_from_slice(&1u16.to_le_bytes());
    b[4..8].copy_from_slice(&(len as u32).to_le_bytes());
    let mut put_password = |slot: usize, (off, pw): (u16, &[u8])| {
        b[slot..slot + 2].copy_from_slice(&off.to_le_bytes());
        let off = usize::from(off);
        b[off..off + pw.len()].copy_from_slice(pw);
        b[off + pw.len()..off + pw.len() + 2].fill(0);
    };
    put_password(8, current);
    if let Some(p) = previous {
        put_password(10, p);
    }
    for (slot, off, ticks) in [
        (12, intervals.0, QUERY_TICKS),
        (14, intervals.1, UNCHANGED_TICKS),
    ] {
        b[slot..slot + 2].copy_from_slice(&off.to_le_bytes());
        let off = usize::from(off);
        b[off..off + 8].copy_from_slice(&ticks.to_le_bytes());
    }
    b
}

fn current_bytes() -> &'static [u8] {
    &BLOB_B[16..272]
}

fn previous_bytes() -> &'static [u8] {
    &BLOB_B[274..530]
}

#[test]
fn blob_b_current_previous_and_intervals() {
    let blob = parse(BLOB_B).unwrap();
    assert_eq!(blob.current.0.expose(), current_bytes());
    assert_eq!(blob.previous.as_ref().unwrap().0.expose(), previous_bytes());
    // 17,388,000,000,000 × 100 ns = 1,738,800 s = 20 d 3 h.
    assert_eq!(blob.query_interval, Duration::from_secs(1_738_800));
    assert_eq!(blob.unchanged_interval, Duration::from_secs(1_738_500));
    assert_eq!(
        blob.query_interval - blob.unchanged_interval,
        Duration::from_secs(300)
    );
}

#[test]
fn blob_a_has_no_previous() {
    let blob = parse(BLOB_A).unwrap();
    assert_eq!(blob.current.0.expose(), current_bytes());
    assert_eq!(blob.previous, None);
    assert_eq!(blob.query_interval, Duration::from_secs(1_738_800));
    assert_eq!(blob.unchanged_interval, Duration::from_secs(1_738_500));
}

#[test]
fn base64_fixture_is_blob_b() {
    use base64::Engine as _;
    let text = BLOB_B_B64.trim_end();
    assert!(
        !text.contains('\n'),
        "one line, as ldapsearch -o ldif-wrap=no prints"
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    assert_eq!(decoded, BLOB_B);
}

#[test]
fn windows_layout_blob_a_is_unpadded() {
    // Intervals at 274 and 282 (not 8-aligned), as in the Windows sample (reference §1).
    assert_eq!(&BLOB_A[8..16], &[16, 0, 0, 0, 0x12, 1, 0x1a, 1]);
    assert!(parse(BLOB_A).is_ok());
}

#[test]
fn windows_sample_intervals() {
    // The Windows sample's header is blob A's; its intervals (reference §6.5) differ by
    // exactly MaxClockSkew, 3,000,000,000 ticks = 5 min.
    let mut b = BLOB_A.to_vec();
    b[274..282].copy_from_slice(&0x176e_8444_bfa9u64.to_le_bytes());
    b[282..290].copy_from_slice(&0x176d_d174_61a9u64.to_le_bytes());
    let blob = parse(&b).unwrap();
    assert_eq!(blob.query_interval, Duration::new(2_576_343, 293_943_300));
    assert_eq!(
        blob.unchanged_interval,
        Duration::new(2_576_043, 293_943_300)
    );
    assert_eq!(
        blob.query_interval - blob.unchanged_interval,
        Duration::from_secs(300)
    );
}

#[test]
fn padded_layout_as_in_the_spec_diagram_is_accepted() {
    // Intervals moved to 8-byte boundaries with padding before them.
    let b = layout(
        560,
        (16, current_bytes()),
        Some((274, previous_bytes())),
        (536, 544),
    );
    let blob = parse(&b).unwrap();
    assert_eq!(blob, parse(BLOB_B).unwrap());
}

#[test]
fn fields_out_of_order_are_found_by_offset() {
    let b = layout(
        548,
        (290, current_bytes()),
        Some((32, previous_bytes())),
        (16, 24),
    );
    let blob = parse(&b).unwrap();
    assert_eq!(blob, parse(BLOB_B).unwrap());
}

#[test]
fn password_ends_at_terminator_not_at_next_field() {
    // Terminator after 84 bytes, junk up to the next field: the junk is not password.
    let mut b = BLOB_B.to_vec();
    b[100..102].fill(0);
    assert_eq!(
        parse(&b),
        Err(BlobError::WrongPasswordLength {
            field: BlobField::CurrentPassword,
            len: 84
        })
    );
    let (blob, warnings) = parse_lenient(&b).unwrap();
    assert_eq!(blob.current.0.expose(), &BLOB_B[16..100]);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("CurrentPassword is 84 bytes"),
        "{warnings:?}"
    );
}

#[test]
fn lenient_accepts_short_passwords_with_a_warning_each() {
    let b = layout(
        16 + 14 + 14 + 16,
        (16, b"a\0b\0c\0d\0e\0f\0"),
        Some((30, b"g\0h\0i\0j\0k\0l\0")),
        (44, 52),
    );
    assert_eq!(
        parse(&b),
        Err(BlobError::WrongPasswordLength {
            field: BlobField::CurrentPassword,
            len: 12
        })
    );
    let (blob, warnings) = parse_lenient(&b).unwrap();
    assert_eq!(blob.current.0.expose(), b"a\0b\0c\0d\0e\0f\0");
    assert_eq!(blob.previous.unwrap().0.expose(), b"g\0h\0i\0j\0k\0l\0");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}

#[test]
fn strict_rejects_wrong_previous_length() {
    let b = layout(
        16 + 258 + 6 + 16,
        (16, current_bytes()),
        Some((274, b"x\0y\0")),
        (280, 288),
    );
    assert_eq!(
        parse(&b),
        Err(BlobError::WrongPasswordLength {
            field: BlobField::PreviousPassword,
            len: 4
        })
    );
    assert_eq!(parse_lenient(&b).unwrap().1.len(), 1);
}

#[test]
fn lenient_gives_no_warnings_for_real_blobs() {
    assert_eq!(
        parse_lenient(BLOB_B).unwrap(),
        (parse(BLOB_B).unwrap(), vec![])
    );
    assert!(parse_lenient(BLOB_A).unwrap().1.is_empty());
}

#[test]
fn too_short() {
    assert_eq!(parse(&[]), Err(BlobError::TooShort { len: 0 }));
    assert_eq!(parse(&BLOB_B[..15]), Err(BlobError::TooShort { len: 15 }));
}

#[test]
fn wrong_version() {
    assert_eq!(parse(&set_u16(BLOB_B, 0, 2)), Err(BlobError::BadVersion(2)));
}

#[test]
fn reserved_not_zero() {
    assert_eq!(
        parse(&set_u16(BLOB_B, 2, 1)),
        Err(BlobError::BadReserved(1))
    );
}

#[test]
fn truncated_value() {
    assert_eq!(
        parse(&BLOB_B[..547]),
        Err(BlobError::Truncated {
            declared: 548,
            received: 547
        })
    );
    // Length larger than what arrived: the wording the operator sees.
    let err = parse(&set_u32(BLOB_B, 4, 600)).unwrap_err();
    assert_eq!(
        err,
        BlobError::Truncated {
            declared: 600,
            received: 548
        }
    );
    assert!(
        err.to_string()
            .starts_with("blob Length field says 600 bytes but 548 were received"),
        "{err}"
    );
    // A Length beyond usize on small targets, or just huge, is the same error.
    assert!(matches!(
        parse(&set_u32(BLOB_B, 4, u32::MAX)),
        Err(BlobError::Truncated { .. })
    ));
}

#[test]
fn trailing_byte() {
    let mut b = BLOB_B.to_vec();
    b.push(0);
    assert_eq!(
        parse(&b),
        Err(BlobError::TrailingBytes {
            declared: 548,
            received: 549
        })
    );
    // Same thing seen from the header: Length smaller than the value.
    assert_eq!(
        parse(&set_u32(BLOB_A, 4, 289)),
        Err(BlobError::TrailingBytes {
            declared: 289,
            received: 290
        })
    );
}

#[test]
fn zero_current_offset() {
    assert_eq!(
        parse(&set_u16(BLOB_B, 8, 0)),
        Err(BlobError::NoCurrentPassword)
    );
}

#[test]
fn offset_inside_header() {
    assert_eq!(
        parse(&set_u16(BLOB_B, 10, 8)),
        Err(BlobError::OffsetInHeader {
            field: BlobField::PreviousPassword,
            offset: 8
        })
    );
    // A zero interval offset would read the header as an interval.
    assert_eq!(
        parse(&set_u16(BLOB_B, 12, 0)),
        Err(BlobError::OffsetInHeader {
            field: BlobField::QueryPasswordInterval,
            offset: 0
        })
    );
}

#[test]
fn offset_beyond_length() {
    assert_eq!(
        parse(&set_u16(BLOB_B, 8, 548)),
        Err(BlobError::OffsetPastEnd {
            field: BlobField::CurrentPassword,
            offset: 548,
            length: 548
        })
    );
    assert_eq!(
        parse(&set_u16(BLOB_B, 10, 0xfffe)),
        Err(BlobError::OffsetPastEnd {
            field: BlobField::PreviousPassword,
            offset: 0xfffe,
            length: 548
        })
    );
}

#[test]
fn interval_runs_past_end() {
    assert_eq!(
        parse(&set_u16(BLOB_B, 14, 541)),
        Err(BlobError::IntervalPastEnd {
            field: BlobField::UnchangedPasswordInterval,
            offset: 541,
            length: 548
        })
    );
}

#[test]
fn odd_password_offset() {
    assert_eq!(
        parse(&set_u16(BLOB_B, 8, 17)),
        Err(BlobError::OddPasswordOffset {
            field: BlobField::CurrentPassword,
            offset: 17
        })
    );
    assert_eq!(
        parse(&set_u16(BLOB_B, 10, 275)),
        Err(BlobError::OddPasswordOffset {
            field: BlobField::PreviousPassword,
            offset: 275
        })
    );
}

#[test]
fn missing_terminator() {
    let mut b = BLOB_B.to_vec();
    b[272] = b'A';
    assert_eq!(
        parse(&b),
        Err(BlobError::MissingTerminator {
            field: BlobField::CurrentPassword,
            offset: 16,
            limit: 274
        })
    );
}

#[test]
fn scan_stops_at_next_field() {
    // The previous password now starts inside the current one, before its terminator.
    assert_eq!(
        parse(&set_u16(BLOB_B, 10, 200)),
        Err(BlobError::MissingTerminator {
            field: BlobField::CurrentPassword,
            offset: 16,
            limit: 200
        })
    );
}

#[test]
fn empty_password() {
    let mut b = BLOB_B.to_vec();
    b[274..276].fill(0);
    assert_eq!(
        parse_lenient(&b),
        Err(BlobError::EmptyPassword {
            field: BlobField::PreviousPassword,
            offset: 274
        })
    );
}

#[test]
fn overlapping_intervals() {
    assert_eq!(
        parse(&set_u16(BLOB_B, 14, 536)),
        Err(BlobError::Overlap {
            first: BlobField::QueryPasswordInterval,
            first_start: 532,
            first_end: 540,
            second: BlobField::UnchangedPasswordInterval,
            second_start: 536,
            second_end: 544,
        })
    );
}

#[test]
fn interval_overlapping_a_password() {
    // The query interval placed on the current password's first bytes.
    let err = parse(&set_u16(BLOB_B, 12, 16)).unwrap_err();
    assert!(
        matches!(
            err,
            BlobError::Overlap {
                first: BlobField::CurrentPassword,
                second: BlobField::QueryPasswordInterval,
                ..
            }
        ),
        "{err:?}"
    );
    // Both passwords at one offset.
    let err = parse(&set_u16(BLOB_B, 10, 16)).unwrap_err();
    assert!(matches!(err, BlobError::Overlap { .. }), "{err:?}");
}

#[test]
fn huge_intervals_do_not_overflow() {
    let mut b = BLOB_A.to_vec();
    b[274..282].fill(0xff);
    let blob = parse(&b).unwrap();
    assert_eq!(
        blob.query_interval,
        Duration::new(1_844_674_407_370, 955_161_500)
    );
}

#[test]
fn unchanged_may_exceed_query() {
    // Near the end of an epoch the DC adds a rollover interval to Unchanged (reference §1).
    let mut b = BLOB_A.to_vec();
    b.copy_within(274..282, 282);
    b[274..282].copy_from_slice(&1u64.to_le_bytes());
    assert!(parse(&b).is_ok());
}

#[test]
fn messages_and_debug_never_show_password_bytes() {
    let blob = parse(BLOB_B).unwrap();
    let shown = format!("{blob:?}");
    assert!(shown.contains("redacted"), "{shown}");
    assert!(!shown.contains("41"), "{shown}");
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        let _ = parse(&bytes);
        let _ = parse_lenient(&bytes);
    }

    #[test]
    fn never_panics_on_mutated_blob_b(
        edits in prop::collection::vec((0usize..548, any::<u8>()), 1..8),
        header in prop::collection::vec((0usize..16, any::<u8>()), 0..4),
        cut in 0usize..600,
    ) {
        let mut b = BLOB_B.to_vec();
        for (at, v) in edits.into_iter().chain(header) {
            b[at] = v;
        }
        b.truncate(cut);
        let strict = parse(&b);
        let lenient = parse_lenient(&b);
        // Strict success implies lenient success with the same result and no warnings.
        if let Ok(blob) = strict {
            prop_assert_eq!(lenient, Ok((blob, vec![])));
        }
    }

    #[test]
    fn any_length_field_that_is_not_the_size_is_rejected(declared in any::<u32>()) {
        prop_assume!(declared != 548);
        let result = parse(&set_u32(BLOB_B, 4, declared));
        let length_error = matches!(
            result,
            Err(BlobError::Truncated { .. } | BlobError::TrailingBytes { .. })
        );
        prop_assert!(length_error);
    }
}
