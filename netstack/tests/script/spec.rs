//! Segment specifications: [`seg`] and the [`Seg`] builder, the [`Flags`] in packetdrill
//! notation, option expectations ([`Opt`], [`Ts`]) and the options a peer offers in its SYN
//! ([`PeerOpts`]). A spec is either what the peer injects or what an emitted segment must
//! look like.

use std::fmt;

/// TCP control flags of a segment (URG, ECE and CWR are never used here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub ack: bool,
}

impl Flags {
    /// Parses packetdrill's notation: `S`, `F`, `R`, `P` and `.` for ACK (`"S."`, `"P."`, `"R"`).
    ///
    /// # Panics
    /// On any other character.
    pub fn parse(text: &str) -> Flags {
        let mut f = Flags::default();
        for c in text.chars() {
            match c {
                'S' => f.syn = true,
                'F' => f.fin = true,
                'R' => f.rst = true,
                'P' => f.psh = true,
                '.' => f.ack = true,
                _ => panic!("unknown flag {c:?} in {text:?}"),
            }
        }
        f
    }
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, c) in [
            (self.syn, 'S'),
            (self.fin, 'F'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.ack, '.'),
        ] {
            if on {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// What a spec says about one option.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Opt<T> {
    /// Not mentioned: for an expectation, the harness's invariants decide; for an injected
    /// segment, absent (timestamps: added automatically once negotiated).
    #[default]
    Default,
    /// Must be absent (expect) / is not sent (inject).
    Absent,
    /// Must be present with any value (expect) / is filled in by the harness (inject).
    Any,
    /// Must be (expect) / is (inject) exactly this.
    Is(T),
}

/// A timestamps option where either field may be left open (`None`) in an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ts {
    pub val: Option<u32>,
    pub ecr: Option<u32>,
}

/// The options a peer puts in its SYN or SYN-ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerOpts {
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    pub ts: bool,
}

impl PeerOpts {
    /// What Linux offers on Ethernet: MSS 1460, SACK-permitted, timestamps, window scale 7.
    pub const FULL: PeerOpts = PeerOpts {
        mss: Some(1460),
        wscale: Some(7),
        sack_ok: true,
        ts: true,
    };
    /// No options at all.
    pub const NONE: PeerOpts = PeerOpts {
        mss: None,
        wscale: None,
        sack_ok: false,
        ts: false,
    };
}

/// A segment specification: what to inject, or what an emitted segment must look like.
///
/// Unset fields are "don't care" in an expectation, except the flags (always compared; PSH only
/// when the spec names it) and SACK blocks (absent unless the spec names them).
#[derive(Debug, Clone, Default)]
pub struct Seg {
    pub(super) flags: Flags,
    pub(super) seq: Option<u32>,
    pub(super) ack: Option<u32>,
    pub(super) win: Option<u16>,
    pub(super) win_bytes: Option<usize>,
    pub(super) len: Option<usize>,
    pub(super) payload: Option<Vec<u8>>,
    pub(super) mss: Opt<u16>,
    pub(super) wscale: Opt<u8>,
    pub(super) sack_ok: Opt<()>,
    pub(super) ts: Opt<Ts>,
    pub(super) sack: Opt<Vec<(u32, u32)>>,
    pub(super) sack_unchecked: bool,
    pub(super) ports: Option<(u16, u16)>,
}

/// A segment spec with these flags (packetdrill notation, see [`Flags::parse`]).
pub fn seg(flags: &str) -> Seg {
    Seg {
        flags: Flags::parse(flags),
        ..Seg::default()
    }
}

impl Seg {
    /// Relative sequence number.
    pub fn seq(mut self, seq: u32) -> Seg {
        self.seq = Some(seq);
        self
    }
    /// Relative acknowledgment number.
    pub fn ack(mut self, ack: u32) -> Seg {
        self.ack = Some(ack);
        self
    }
    /// The raw window field.
    pub fn win(mut self, win: u16) -> Seg {
        self.win = Some(win);
        self
    }
    /// The window in bytes (injected segments: divided by the peer's negotiated scale).
    pub fn win_bytes(mut self, bytes: usize) -> Seg {
        self.win_bytes = Some(bytes);
        self
    }
    /// Payload length (injected: the peer's stream bytes at this sequence number).
    pub fn len(mut self, len: usize) -> Seg {
        self.len = Some(len);
        self
    }
    /// Exact payload bytes.
    pub fn payload(mut self, bytes: &[u8]) -> Seg {
        self.len = Some(bytes.len());
        self.payload = Some(bytes.to_vec());
        self
    }
    /// MSS option with this value.
    pub fn mss(mut self, mss: u16) -> Seg {
        self.mss = Opt::Is(mss);
        self
    }
    /// No MSS option.
    pub fn no_mss(mut self) -> Seg {
        self.mss = Opt::Absent;
        self
    }
    /// Window scale option with this shift.
    pub fn wscale(mut self, shift: u8) -> Seg {
        self.wscale = Opt::Is(shift);
        self
    }
    /// No window scale option.
    pub fn no_wscale(mut self) -> Seg {
        self.wscale = Opt::Absent;
        self
    }
    /// SACK-permitted option.
    pub fn sack_ok(mut self) -> Seg {
        self.sack_ok = Opt::Is(());
        self
    }
    /// No SACK-permitted option.
    pub fn no_sack_ok(mut self) -> Seg {
        self.sack_ok = Opt::Absent;
        self
    }
    /// Timestamps with both values.
    pub fn ts(mut self, val: u32, ecr: u32) -> Seg {
        self.ts = Opt::Is(Ts {
            val: Some(val),
            ecr: Some(ecr),
        });
        self
    }
    /// Timestamps echoing `ecr`, any TSval (expect only).
    pub fn ts_ecr(mut self, ecr: u32) -> Seg {
        self.ts = Opt::Is(Ts {
            val: None,
            ecr: Some(ecr),
        });
        self
    }
    /// Timestamps present (expect) / filled in by the harness (inject).
    pub fn ts_any(mut self) -> Seg {
        self.ts = Opt::Any;
        self
    }
    /// No timestamps option.
    pub fn no_ts(mut self) -> Seg {
        self.ts = Opt::Absent;
        self
    }
    /// SACK blocks, relative to the peer's ISN in an expectation, to the stack's when injected.
    pub fn sack(mut self, blocks: &[(u32, u32)]) -> Seg {
        self.sack = Opt::Is(blocks.to_vec());
        self
    }
    /// Any SACK blocks, at least one (expect only).
    pub fn sack_any(mut self) -> Seg {
        self.sack = Opt::Any;
        self
    }
    /// SACK blocks are not checked (e.g. where a D-SACK would be as right as none).
    pub fn any_sack(mut self) -> Seg {
        self.sack_unchecked = true;
        self
    }
    /// Source and destination ports, from the sender's point of view (default: the flow's).
    pub fn ports(mut self, src: u16, dst: u16) -> Seg {
        self.ports = Some((src, dst));
        self
    }
    /// The SYN options a peer offers.
    pub fn with_opts(mut self, o: PeerOpts) -> Seg {
        self.mss = o.mss.map_or(Opt::Absent, Opt::Is);
        self.wscale = o.wscale.map_or(Opt::Absent, Opt::Is);
        self.sack_ok = if o.sack_ok { Opt::Is(()) } else { Opt::Absent };
        self.ts = if o.ts { Opt::Any } else { Opt::Absent };
        self
    }
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
        write!(f, "{} {}", self.flags, q(self.seq))?;
        if let Some(len) = self.len {
            write!(f, "({len})")?;
        }
        if self.flags.ack {
            write!(f, " ack {}", q(self.ack))?;
        }
        if let Some(w) = self.win {
            write!(f, " win {w}")?;
        }
        if let Some(w) = self.win_bytes {
            write!(f, " win {w}B")?;
        }
        let mut opts = Vec::new();
        match self.mss {
            Opt::Is(m) => opts.push(format!("mss {m}")),
            Opt::Absent => opts.push("!mss".into()),
            Opt::Any => opts.push("mss ?".into()),
            Opt::Default => {}
        }
        match self.sack_ok {
            Opt::Is(()) | Opt::Any => opts.push("sackOK".into()),
            Opt::Absent => opts.push("!sackOK".into()),
            Opt::Default => {}
        }
        match self.ts {
            Opt::Is(t) => opts.push(format!("TS val {} ecr {}", q(t.val), q(t.ecr))),
            Opt::Any => opts.push("TS".into()),
            Opt::Absent => opts.push("!TS".into()),
            Opt::Default => {}
        }
        match self.wscale {
            Opt::Is(w) => opts.push(format!("wscale {w}")),
            Opt::Any => opts.push("wscale ?".into()),
            Opt::Absent => opts.push("!wscale".into()),
            Opt::Default => {}
        }
        match &self.sack {
            Opt::Is(b) => opts.push(format!("sack {b:?}")),
            Opt::Any => opts.push("sack ?".into()),
            Opt::Absent | Opt::Default => {}
        }
        if !opts.is_empty() {
            write!(f, " <{}>", opts.join(","))?;
        }
        Ok(())
    }
}
