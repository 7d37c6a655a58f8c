use super::*;

#[test]
fn defaults_are_linux_defaults() {
    let c = StackConfig::default();
    assert_eq!(c.somaxconn, 4096);
    assert_eq!(c.tcp_syncookies, 1);
    assert!(!c.tcp_abort_on_overflow);
    assert_eq!(c.tcp_synack_retries, 5);
    assert_eq!(c.tcp_rmem, [4096, 131_072, 6_291_456]);
    assert_eq!(c.tcp_wmem, [4096, 16_384, 4_194_304]);
    assert_eq!(c.tcp_congestion_control, CongestionControl::Cubic);
    assert_eq!(c.ip_local_port_range, (32768, 60999));
    assert_eq!(c.tcp_max_tw_buckets, 131_072);
    assert!(!c.tcp_rfc1337);
}

#[test]
fn set_accepts_every_name_form() {
    let mut c = StackConfig::default();
    c.set("net.ipv4.tcp_syncookies", "2").unwrap();
    assert_eq!(c.tcp_syncookies, 2);
    c.set("net/ipv4/tcp_syncookies", "0").unwrap();
    assert_eq!(c.tcp_syncookies, 0);
    c.set("tcp_abort_on_overflow", "1").unwrap();
    assert!(c.tcp_abort_on_overflow);
    c.set("net.ipv4.tcp_rmem", "4096 87380 1000000").unwrap();
    assert_eq!(c.tcp_rmem, [4096, 87380, 1_000_000]);
    c.set("net.core.somaxconn", " 128 ").unwrap();
    assert_eq!(c.somaxconn, 128);
    c.set("tcp_congestion_control", "reno").unwrap();
    assert_eq!(c.tcp_congestion_control, CongestionControl::Reno);
    c.set("ip_local_port_range", "1024 2048").unwrap();
    assert_eq!(c.ip_local_port_range, (1024, 2048));
    c.set("net.ipv4.tcp_max_tw_buckets", "2").unwrap();
    assert_eq!(c.tcp_max_tw_buckets, 2);
    c.set("tcp_rfc1337", "1").unwrap();
    assert!(c.tcp_rfc1337);
    assert_eq!(c.get("net.ipv4.tcp_max_tw_buckets").as_deref(), Some("2"));
}

#[test]
fn set_rejects_bad_names_and_values_and_changes_nothing() {
    let mut c = StackConfig::default();
    let before = c.clone();
    assert_eq!(
        c.set("net.ipv4.no_such_thing", "1"),
        Err(ConfigError::UnknownName("net.ipv4.no_such_thing".into()))
    );
    // Right name, wrong prefix.
    assert!(matches!(
        c.set("net.core.tcp_syncookies", "1"),
        Err(ConfigError::UnknownName(_))
    ));
    for (name, value) in [
        ("tcp_syncookies", "3"),
        ("tcp_syncookies", "yes"),
        ("tcp_abort_on_overflow", "2"),
        ("tcp_rmem", "4096 131072"),
        ("tcp_rmem", "9000 4096 100000"),
        ("tcp_rmem", "1 2 3 4"),
        ("somaxconn", "-1"),
        ("ip_local_port_range", "2000 1000"),
        ("tcp_congestion_control", "bbr"),
        ("txqueuelen", "0"),
    ] {
        let err = c.set(name, value).unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidValue { .. }),
            "{name}={value}"
        );
    }
    assert_eq!(c, before);
    let msg = c.set("tcp_syncookies", "7").unwrap_err().to_string();
    assert_eq!(
        msg,
        "invalid value `7` for net.ipv4.tcp_syncookies: expected an integer that fits in u8"
    );
}

#[test]
fn get_and_iter_print_like_sysctl() {
    let c = StackConfig::default();
    assert_eq!(c.get("net.ipv4.tcp_rmem").unwrap(), "4096\t131072\t6291456");
    assert_eq!(c.get("tcp_abort_on_overflow").unwrap(), "0");
    assert_eq!(c.get("tcp_congestion_control").unwrap(), "cubic");
    assert_eq!(c.get("bogus"), None);
    let all: Vec<_> = c.iter().collect();
    assert_eq!(all.len(), StackConfig::NAMES.len());
    assert!(
        all.iter()
            .any(|(n, v)| *n == "net.core.somaxconn" && v == "4096")
    );
    // Every listed value can be written back.
    let mut d = StackConfig::default();
    for (name, value) in c.iter() {
        d.set(name, &value).unwrap();
    }
    assert_eq!(c, d);
}
