use super::*;

/// The options of a Linux SYN: MSS 1460, SACK-permitted, timestamps (123456, 0), NOP, WS 7.
const LINUX_SYN: [u8; 20] = [
    0x02, 0x04, 0x05, 0xb4, // MSS 1460
    0x04, 0x02, // SACK permitted
    0x08, 0x0a, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x00, 0x00, 0x00, // TS 123456, 0
    0x01, // NOP
    0x03, 0x03, 0x07, // window scale 7
];

fn block(left: u32, right: u32) -> (SeqNumber, SeqNumber) {
    (SeqNumber(left), SeqNumber(right))
}

fn sack(blocks: &[(u32, u32)]) -> SackBlocks {
    let blocks: Vec<_> = blocks.iter().map(|&(l, r)| block(l, r)).collect();
    SackBlocks::from_slice(&blocks).unwrap()
}

fn emit(options: &TcpOptions) -> Vec<u8> {
    let mut area = vec![0xa5; options.buffer_len()];
    assert_eq!(options.emit(&mut area), area.len());
    area
}

fn linux_syn() -> TcpOptions {
    TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some((123_456, 0)),
        ..TcpOptions::default()
    }
}

#[test]
fn parse_linux_syn() {
    assert_eq!(TcpOptions::parse(&LINUX_SYN), Ok(linux_syn()));
}

#[test]
fn emit_linux_syn() {
    let options = linux_syn();
    assert_eq!(options.buffer_len(), 20);
    assert_eq!(emit(&options), LINUX_SYN);
}

#[test]
fn emit_layouts() {
    let ts_only = TcpOptions {
        timestamps: Some((1, 2)),
        ..TcpOptions::default()
    };
    assert_eq!(emit(&ts_only), [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);

    let sack_ok_only = TcpOptions {
        sack_permitted: true,
        ..TcpOptions::default()
    };
    assert_eq!(emit(&sack_ok_only), [1, 1, 4, 2]);

    let mss_ws = TcpOptions {
        mss: Some(536),
        window_scale: Some(0),
        ..TcpOptions::default()
    };
    assert_eq!(emit(&mss_ws), [2, 4, 2, 24, 1, 3, 3, 0]);

    let ack = TcpOptions {
        timestamps: Some((0xdead_beef, 0x0102_0304)),
        sack_blocks: sack(&[(100, 200)]),
        ..TcpOptions::default()
    };
    assert_eq!(
        emit(&ack),
        [
            1, 1, 8, 10, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, // NOP NOP TS
            1, 1, 5, 10, 0, 0, 0, 100, 0, 0, 0, 200, // NOP NOP SACK
        ]
    );

    assert!(TcpOptions::default().is_empty());
    assert_eq!(TcpOptions::default().buffer_len(), 0);
    assert!(emit(&TcpOptions::default()).is_empty());
    assert!(!ack.is_empty());
}

#[test]
fn round_trips() {
    let cases = [
        linux_syn(),
        TcpOptions {
            sack_blocks: sack(&[(1, 2), (3, 4), (5, 6), (7, 8)]),
            ..TcpOptions::default()
        },
        TcpOptions {
            timestamps: Some((u32::MAX, 1)),
            sack_blocks: sack(&[(0xffff_fff0, 0x10), (3, 4), (5, 6)]),
            ..TcpOptions::default()
        },
        TcpOptions {
            mss: Some(65535),
            sack_permitted: true,
            ..TcpOptions::default()
        },
        TcpOptions {
            window_scale: Some(14),
            ..TcpOptions::default()
        },
    ];
    for options in cases {
        let area = emit(&options);
        assert_eq!(area.len() % 4, 0);
        assert!(area.len() <= MAX_LEN);
        assert_eq!(TcpOptions::parse(&area), Ok(options), "{area:?}");
    }
}

#[test]
fn sack_blocks_that_do_not_fit_are_dropped() {
    let four = sack(&[(1, 2), (3, 4), (5, 6), (7, 8)]);
    let without_ts = TcpOptions {
        sack_blocks: four,
        ..TcpOptions::default()
    };
    assert_eq!(without_ts.emitted_sack_blocks(), 4);
    assert_eq!(without_ts.buffer_len(), 36);

    let with_ts = TcpOptions {
        timestamps: Some((9, 10)),
        ..without_ts
    };
    assert_eq!(with_ts.emitted_sack_blocks(), 3);
    assert_eq!(with_ts.buffer_len(), 40);
    let parsed = TcpOptions::parse(&emit(&with_ts)).unwrap();
    assert_eq!(parsed.sack_blocks, sack(&[(1, 2), (3, 4), (5, 6)]));
    assert_eq!(parsed.timestamps, Some((9, 10)));

    let everything = TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        ..with_ts
    };
    assert_eq!(everything.emitted_sack_blocks(), 2);
    assert_eq!(everything.buffer_len(), 40);
    let parsed = TcpOptions::parse(&emit(&everything)).unwrap();
    assert_eq!(parsed.sack_blocks, sack(&[(1, 2), (3, 4)]));
}

#[test]
fn emit_pads_a_longer_area_with_end_of_list() {
    let options = TcpOptions {
        mss: Some(1460),
        ..TcpOptions::default()
    };
    let mut area = [0xff; 8];
    assert_eq!(options.emit(&mut area), 4);
    assert_eq!(area, [2, 4, 5, 0xb4, 0, 0, 0, 0]);
}

#[test]
fn window_scale_is_clamped() {
    for shift in [15, 200, 255] {
        let parsed = TcpOptions::parse(&[1, 3, 3, shift]).unwrap();
        assert_eq!(parsed.window_scale, Some(MAX_WINDOW_SCALE));
    }
    let options = TcpOptions {
        window_scale: Some(20),
        ..TcpOptions::default()
    };
    assert_eq!(emit(&options), [1, 3, 3, 14]);
}

#[test]
fn end_nop_and_unknown_kinds() {
    // Bytes after End of Option List are ignored, whatever they are.
    assert_eq!(
        TcpOptions::parse(&[2, 4, 0x05, 0xb4, 0, 2, 0xff])
            .unwrap()
            .mss,
        Some(1460)
    );
    assert_eq!(TcpOptions::parse(&[0, 0, 0, 0]), Ok(TcpOptions::default()));
    assert_eq!(TcpOptions::parse(&[1, 1, 1, 1]), Ok(TcpOptions::default()));
    assert_eq!(TcpOptions::parse(&[]), Ok(TcpOptions::default()));
    // Unknown kinds (MD5 signature 19, Fast Open 34, experimental 254) are skipped.
    let mut area = vec![19, 18];
    area.extend([0xaa; 16]);
    area.extend([34, 2, 254, 4, 0xf9, 0x89, 4, 2]);
    let parsed = TcpOptions::parse(&area).unwrap();
    assert!(parsed.sack_permitted);
    assert_eq!(parsed.mss, None);
}

#[test]
fn duplicate_options_last_wins() {
    let parsed = TcpOptions::parse(&[2, 4, 0, 100, 2, 4, 0, 200]).unwrap();
    assert_eq!(parsed.mss, Some(200));
}

#[test]
fn malformed_options() {
    let cases: &[(&str, &[u8])] = &[
        ("kind without length", &[2]),
        ("unknown kind without length", &[1, 1, 30]),
        ("length 0", &[30, 0, 1, 1]),
        ("length 1", &[30, 1, 1, 1]),
        ("unknown option overrunning", &[30, 6, 0, 0]),
        ("MSS overrunning", &[2, 4, 5]),
        ("MSS length 3", &[2, 3, 5, 1]),
        ("MSS length 5", &[2, 5, 5, 0xb4, 0]),
        ("window scale length 2", &[3, 2, 1, 1]),
        ("window scale length 4", &[3, 4, 7, 0]),
        ("SACK permitted length 3", &[4, 3, 0, 1]),
        ("timestamps length 9", &[8, 9, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("timestamps length 11", &[8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("SACK without blocks", &[5, 2, 1, 1]),
        ("SACK length 9", &[5, 9, 0, 0, 0, 0, 0, 0, 0]),
        ("SACK length 11", &[5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    ];
    for (name, area) in cases {
        assert_eq!(TcpOptions::parse(area), Err(WireError::Malformed), "{name}");
    }
    // Five SACK blocks cannot fit in a header, but a bare slice could hold them.
    let mut five = vec![5, 42];
    five.extend([0u8; 40]);
    assert_eq!(TcpOptions::parse(&five), Err(WireError::Malformed));
}

#[test]
fn every_prefix_of_valid_options_is_handled() {
    let full = emit(&TcpOptions {
        timestamps: Some((1, 2)),
        sack_blocks: sack(&[(1, 2), (3, 4), (5, 6)]),
        ..TcpOptions::default()
    });
    // NOP NOP TS(10) NOP NOP SACK(26): a cut parses only where it falls between options.
    for len in 0..full.len() {
        let result = TcpOptions::parse(&full[..len]);
        let whole_options = matches!(len, 0..=2 | 12..=14);
        assert_eq!(result.is_ok(), whole_options, "len {len}: {result:?}");
        if let Ok(parsed) = result {
            assert_eq!(parsed.timestamps.is_some(), len >= 12);
            assert!(parsed.sack_blocks.is_empty());
        }
    }
    assert_eq!(TcpOptions::parse(&full[..5]), Err(WireError::Malformed));
    assert_eq!(TcpOptions::parse(&full[..2]), Ok(TcpOptions::default()));
}

#[test]
fn sack_blocks_api() {
    let mut blocks = SackBlocks::new();
    assert!(blocks.is_empty());
    for i in 0..4 {
        assert!(blocks.push(SeqNumber(i), SeqNumber(i + 1)));
    }
    assert!(!blocks.push(SeqNumber(9), SeqNumber(10)));
    assert_eq!(blocks.len(), 4);
    assert_eq!(blocks.as_slice()[3], block(3, 4));
    blocks.clear();
    assert!(blocks.is_empty());
    // Stale entries beyond the length do not affect equality.
    assert_eq!(blocks, SackBlocks::default());
    assert_eq!(format!("{blocks:?}"), "[]");
    assert!(SackBlocks::from_slice(&[block(0, 1); 5]).is_none());
    assert_eq!(
        format!("{:?}", sack(&[(1, 2)])),
        "[(SeqNumber(1), SeqNumber(2))]"
    );
}

#[test]
fn the_aligned_timestamp_shortcut_agrees_with_the_general_parse() {
    let ts = [1, 1, 8, 10, 0, 0, 1, 2, 0xff, 0, 0, 3];
    let parsed = TcpOptions::parse(&ts).unwrap();
    assert_eq!(parsed.timestamps, Some((0x102, 0xff00_0003)));
    assert_eq!(
        parsed,
        TcpOptions::parse(&ts[2..]).unwrap(),
        "without the NOPs"
    );
    // The same start with more after it (SACK blocks, trailing End), or a wrong length byte,
    // goes through the general loop.
    let mut with_sack = ts.to_vec();
    with_sack.extend([1, 1, 5, 10, 0, 0, 0, 5, 0, 0, 0, 9]);
    let parsed = TcpOptions::parse(&with_sack).unwrap();
    assert_eq!(parsed.timestamps, Some((0x102, 0xff00_0003)));
    assert_eq!(parsed.sack_blocks, sack(&[(5, 9)]));
    let mut padded = ts.to_vec();
    padded.extend([0, 0, 0, 0]);
    assert_eq!(
        TcpOptions::parse(&padded).unwrap().timestamps,
        Some((0x102, 0xff00_0003))
    );
    let mut bad = ts;
    bad[3] = 11;
    assert_eq!(TcpOptions::parse(&bad), Err(WireError::Malformed));
    assert_eq!(TcpOptions::parse(&ts[..11]), Err(WireError::Malformed));
}
