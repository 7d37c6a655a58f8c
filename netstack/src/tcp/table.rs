//! The socket table: a slab of sockets behind generational handles, the demultiplexing hashes,
//! port bookkeeping, the output queue and the timer wheel.
//!
//! - **Demultiplexing** is two hash lookups at most: the connection by its 4-tuple, else the
//!   listener by local address and port (exact address first, then the wildcard). Never a scan.
//! - **Ports**: a socket holds its local port either as explicitly bound (`bind`, tracked per
//!   port so a conflicting `bind` can be refused) or implicitly (an ephemeral port picked by
//!   `connect`, or a listener's port used by an accepted connection; only counted). Ephemeral
//!   ports are never taken from a port someone bound.
//! - **Output queue**: connections with something to send are queued once (a `dirty` flag), and
//!   the stack's transmit drains the queue; idle connections cost nothing per tick.
//! - **Timers**: one wheel entry per connection with a timer running, at or before its
//!   earliest deadline: moved (without allocation) only when a deadline comes earlier; one
//!   that moves later is picked up when the entry fires; removed when no timer runs (see
//!   `refile_timer`).
//! - **Reaping**: a connection is freed when it is closed and nobody can observe it any more
//!   (the user closed the handle, or it is a child the user never saw). Its control block's
//!   allocation is kept for the next connection (up to [`SPARE_TCBS`], buffers freed): a
//!   kilobyte allocated and freed per connection was a tenth of a short connection's cost in
//!   the allocator's slow paths.
//! - **TIME_WAIT** (`table/time_wait.rs`): an orphaned connection in TIME_WAIT whose last ACK
//!   has left becomes a compact [`TimeWait`] record in the same slot (same index, hash entry,
//!   timer entry and port), and the table counts TIME_WAIT connections against
//!   `tcp_max_tw_buckets`.

use core::hash::BuildHasher;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::VecDeque;
use std::io;

use hashbrown::HashTable;

use super::listen::Listener;
use super::tcb::{Env, NO_TICK, Tcb};
use super::timewait::TimeWait;
use super::{SocketHandle, State};
use crate::time::Instant;
use crate::timer::Wheel;
use time_wait::count_time_wait;

/// Freed control blocks kept for reuse (their allocations only: about 60 KB at most).
const SPARE_TCBS: usize = 64;

/// A socket: a connection (or a not yet connected socket), a listener, or what is left of an
/// orphaned connection in TIME_WAIT.
#[derive(Debug)]
pub(crate) enum Socket {
    Conn(Box<Tcb>),
    Listener(Box<Listener>),
    TimeWait(Box<TimeWait>),
}

#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    /// Whether the socket holds its port explicitly (in the padding after `generation`).
    explicit: bool,
    socket: Option<Socket>,
}

/// A connection's 4-tuple packed into one integer, what the demultiplexing table hashes:
/// hashing it (with the stack's keyed hash, `crate::hash`, so flooding one bucket stays
/// impractical) is one 16-byte write, where the tuple of two `SocketAddrV4`s took six writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct TupleKey(u128);

impl TupleKey {
    fn new(local: SocketAddrV4, remote: SocketAddrV4) -> TupleKey {
        TupleKey(
            u128::from(local.ip().to_bits()) << 64
                | u128::from(local.port()) << 48
                | u128::from(remote.ip().to_bits()) << 16
                | u128::from(remote.port()),
        )
    }
}

/// The TCP socket table.
///
/// **Memory per connection** (it adds to the boxed control block): a slab slot (24 bytes,
/// which also holds whether the port is bound explicitly), and an entry in the demultiplexing
/// table `conns`. That table holds only slab indices (4 bytes and a control byte per bucket;
/// with the load at most 7/8 and buckets doubling, 5.7 to 11.4 bytes per connection): the key
/// is read from the control block the index names, which a lookup touches anyway. Ports held
/// implicitly (ephemeral ports of `connect`, a listener's port for its children) are only
/// counted, 9 bytes a bucket per port in use, not per connection.
#[derive(Default)]
pub(crate) struct Table {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Hashed connections by 4-tuple: slab indices, hashed with `keys` (see the struct docs).
    conns: HashTable<u32>,
    /// The keyed hash of `conns` (see `crate::hash`).
    keys: crate::hash::Keyed,
    listeners: crate::hash::Map<SocketAddrV4, u32>,
    /// Sockets bound to each port explicitly.
    bound: crate::hash::Map<u16, Vec<u32>>,
    /// Connections using each port implicitly.
    implicit: crate::hash::Map<u16, u32>,
    wheel: Wheel<u32>,
    dirty: VecDeque<u32>,
    fired: Vec<u32>,
    /// Connections in TIME_WAIT, compact or not (what `tcp_max_tw_buckets` bounds).
    time_wait: usize,
    /// Allocations of freed control blocks, for the next ones (see the module docs). Boxes
    /// on purpose: the point is to keep the allocations the sockets' boxes came from.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Tcb>>,
}

impl core::fmt::Debug for Table {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Table")
            .field("sockets", &(self.slots.len() - self.free.len()))
            .field("connections", &self.conns.len())
            .field("listeners", &self.listeners.len())
            .field("time_wait", &self.time_wait)
            .field("dirty", &self.dirty.len())
            .finish()
    }
}

/// Bytes one connection costs the table when idle, buffers released: its boxed control
/// block, its slab slot and its entry in the 4-tuple table (an index and the table's control
/// byte, at full load).
pub(crate) fn connection_overhead() -> usize {
    size_of::<Tcb>() + size_of::<Slot>() + size_of::<u32>() + 1
}

/// Bytes one orphaned connection in TIME_WAIT costs the table: its boxed record, its slab
/// slot and its entry in the 4-tuple table.
pub(crate) fn time_wait_overhead() -> usize {
    size_of::<TimeWait>() + size_of::<Slot>() + size_of::<u32>() + 1
}

/// What `conns` hashes for slot `index` when it grows: its connection's 4-tuple (every index
/// in `conns` names a connection).
fn hash_at(keys: &crate::hash::Keyed, slots: &[Slot], index: u32) -> u64 {
    key_at(slots, index).map_or(0, |key| keys.hash_one(key))
}

/// The 4-tuple of the connection in `slots[index]` (`None` if it is not a connection).
fn key_at(slots: &[Slot], index: u32) -> Option<TupleKey> {
    tuple_at(slots, index).map(|(local, remote)| TupleKey::new(local, remote))
}

/// The local and remote addresses of the connection in `slots[index]` (in TIME_WAIT too).
fn tuple_at(slots: &[Slot], index: u32) -> Option<(SocketAddrV4, SocketAddrV4)> {
    match slots.get(index as usize)?.socket.as_ref()? {
        Socket::Conn(tcb) => Some((tcb.local, tcb.remote)),
        Socket::TimeWait(tw) => Some((tw.local, tw.remote)),
        Socket::Listener(_) => None,
    }
}

/// The connection in `slots[index]` (a free function, so that other fields of the table can
/// be borrowed beside it).
fn conn_in(slots: &mut [Slot], index: u32) -> Option<&mut Tcb> {
    match slots.get_mut(index as usize)?.socket.as_mut()? {
        Socket::Conn(tcb) => Some(tcb),
        Socket::Listener(_) | Socket::TimeWait(_) => None,
    }
}

/// Keeps connection `index`'s wheel entry at or before its earliest deadline: one entry per
/// connection, moved only when a deadline comes *earlier* than where it is filed (or nothing is
/// filed). A deadline that moves later (a retransmission timer restarted by every ACK, the
/// release timer taking over from it, a delayed ACK cleared) leaves the entry where it is:
/// when it fires, the connection runs what is due (perhaps nothing) and is filed again at its
/// earliest deadline then. Most timer changes are of that kind, so most refiles are saved (at
/// most one early wake-up per connection and deadline, as kernels that re-arm lazily pay).
/// When no timer runs any more, the entry goes at once: an idle connection holds none (a
/// burst of connections established and gone quiet would otherwise keep a wheel entry each
/// until their old deadlines came).
fn refile_timer(wheel: &mut Wheel<u32>, tcb: &mut Tcb, index: u32) {
    let Some(tick) = tcb.timers.earliest_micros().map(|us| us.div_ceil(1000)) else {
        if let Some(key) = tcb.timer_key.take() {
            wheel.remove(key);
        }
        tcb.timer_tick = NO_TICK;
        return;
    };
    if tcb.timer_tick != NO_TICK && tcb.timer_tick <= tick {
        return;
    }
    tcb.timer_tick = tick;
    match tcb.timer_key {
        Some(key) => {
            if let Some(value) = wheel.value_mut(key) {
                *value = Some(index);
                wheel.reset(key, tick);
            } else {
                tcb.timer_key = Some(wheel.insert(tick, index));
            }
        }
        None => tcb.timer_key = Some(wheel.insert(tick, index)),
    }
}

/// The error for a handle that does not (or no longer) name a socket of the right kind.
pub(crate) fn stale() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "stale or closed TCP socket handle",
    )
}

/// Whether two local addresses overlap (one is the wildcard, or they are equal).
fn overlaps(a: Ipv4Addr, b: Ipv4Addr) -> bool {
    a.is_unspecified() || b.is_unspecified() || a == b
}

impl Table {
    /// Sockets in use (connections, listeners and unconnected sockets).
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// `tcb` in a box, reusing a freed control block's allocation if one is kept.
    pub fn boxed(&mut self, tcb: Tcb) -> Box<Tcb> {
        match self.spare.pop() {
            Some(mut spare) => {
                *spare = tcb;
                spare
            }
            None => Box::new(tcb),
        }
    }

    /// Keeps a freed control block's allocation for [`Table::boxed`] (its buffers are freed
    /// now, not when it is reused).
    fn recycle(&mut self, mut tcb: Box<Tcb>) {
        if self.spare.len() < SPARE_TCBS {
            drop(std::mem::take(&mut tcb.send));
            drop(std::mem::take(&mut tcb.recv));
            self.spare.push(tcb);
        }
    }

    /// Adds a socket; returns its slab index.
    pub fn insert(&mut self, socket: Socket) -> u32 {
        match self.free.pop() {
            Some(i) => {
                let slot = &mut self.slots[i as usize];
                slot.socket = Some(socket);
                slot.explicit = false;
                i
            }
            None => {
                let i = u32::try_from(self.slots.len()).expect("socket table full");
                self.slots.push(Slot {
                    generation: 0,
                    explicit: false,
                    socket: Some(socket),
                });
                i
            }
        }
    }

    /// The handle of a live slot.
    pub fn handle(&self, index: u32) -> SocketHandle {
        SocketHandle {
            index,
            generation: self.slots[index as usize].generation,
        }
    }

    /// The socket a handle names, if it still exists.
    pub fn get(&mut self, h: SocketHandle) -> Option<&mut Socket> {
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.generation != h.generation {
            return None;
        }
        slot.socket.as_mut()
    }

    /// The connection a handle names.
    pub fn conn(&mut self, h: SocketHandle) -> io::Result<&mut Tcb> {
        match self.get(h) {
            Some(Socket::Conn(tcb)) if !tcb.orphan() => Ok(tcb),
            _ => Err(stale()),
        }
    }

    /// The listener a handle names.
    pub fn listener(&mut self, h: SocketHandle) -> io::Result<&mut Listener> {
        match self.get(h) {
            Some(Socket::Listener(l)) => Ok(l),
            Some(Socket::Conn(_)) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is not listening",
            )),
            Some(Socket::TimeWait(_)) | None => Err(stale()),
        }
    }

    /// Every socket with its slab index, in slab order (for listings such as `ss`).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Socket)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| Some((i as u32, slot.socket.as_ref()?)))
    }

    /// The connection in slot `index`, whatever its generation (not a compact TIME_WAIT).
    pub fn conn_at(&mut self, index: u32) -> Option<&mut Tcb> {
        match self.slots.get_mut(index as usize)?.socket.as_mut()? {
            Socket::Conn(tcb) => Some(tcb),
            Socket::Listener(_) | Socket::TimeWait(_) => None,
        }
    }

    /// The listener in slot `index` if it is still the one of generation `generation`.
    pub fn listener_at(&mut self, index: u32, generation: u32) -> Option<&mut Listener> {
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        match slot.socket.as_mut()? {
            Socket::Listener(l) => Some(l),
            Socket::Conn(_) | Socket::TimeWait(_) => None,
        }
    }

    /// The connection with this 4-tuple.
    pub fn lookup(&self, local: SocketAddrV4, remote: SocketAddrV4) -> Option<u32> {
        let hash = self.keys.hash_one(TupleKey::new(local, remote));
        let slots = &self.slots;
        self.conns
            .find(hash, |&i| tuple_at(slots, i) == Some((local, remote)))
            .copied()
    }

    /// The listener for segments to `local`: bound to that address, else to the wildcard.
    pub fn find_listener(&self, local: SocketAddrV4) -> Option<u32> {
        self.listeners
            .get(&local)
            .or_else(|| {
                self.listeners
                    .get(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, local.port()))
            })
            .copied()
    }

    /// Every listener: its handle and the listener, ordered by local address.
    pub fn listeners(&self) -> Vec<(SocketHandle, &Listener)> {
        let mut all: Vec<_> = self
            .listeners
            .values()
            .filter_map(|&i| match &self.slots[i as usize].socket {
                Some(Socket::Listener(l)) => Some((self.handle(i), &**l)),
                _ => None,
            })
            .collect();
        all.sort_by_key(|(_, l)| (u32::from(*l.local.ip()), l.local.port()));
        all
    }

    /// Whether a 4-tuple is taken.
    pub fn tuple_in_use(&self, local: SocketAddrV4, remote: SocketAddrV4) -> bool {
        self.lookup(local, remote).is_some()
    }

    /// Whether nobody holds `port` in any way (so `connect` may take it as ephemeral).
    pub fn port_free_for_ephemeral(&self, port: u16) -> bool {
        !self.bound.contains_key(&port)
    }

    /// Checks that `index` may bind `local` (SO_REUSEADDR semantics as on Linux: a port held
    /// only by sockets that are not listening can be shared when both sides set it).
    pub fn check_bind(&self, index: u32, local: SocketAddrV4, reuseaddr: bool) -> io::Result<()> {
        if self.implicit.contains_key(&local.port()) && !reuseaddr {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        let Some(bound) = self.bound.get(&local.port()) else {
            return Ok(());
        };
        for &other in bound {
            if other == index {
                continue;
            }
            let (addr, listening, other_reuse) = match &self.slots[other as usize].socket {
                Some(Socket::Conn(t)) => (*t.local.ip(), false, t.reuseaddr()),
                Some(Socket::TimeWait(t)) => (*t.local.ip(), false, t.reuseaddr),
                Some(Socket::Listener(l)) => (*l.local.ip(), true, l.reuseaddr),
                None => continue,
            };
            if overlaps(addr, *local.ip()) && (listening || !(reuseaddr && other_reuse)) {
                return Err(io::ErrorKind::AddrInUse.into());
            }
        }
        Ok(())
    }

    /// Whether a listener other than `index` listens on `port` (on any address).
    pub fn any_listener_on_port(&self, port: u16, index: u32) -> bool {
        self.bound.get(&port).is_some_and(|bound| {
            bound.iter().any(|&i| {
                i != index && matches!(self.slots[i as usize].socket, Some(Socket::Listener(_)))
            })
        })
    }

    /// Records that `index` holds `port`, explicitly (bind) or implicitly.
    pub fn hold_port(&mut self, index: u32, port: u16, explicit: bool) {
        if explicit {
            self.bound.entry(port).or_default().push(index);
        } else {
            *self.implicit.entry(port).or_default() += 1;
        }
        self.slots[index as usize].explicit = explicit;
    }

    fn release_port(&mut self, index: u32, port: u16) {
        if port == 0 {
            return;
        }
        if self.slots[index as usize].explicit {
            if let Some(bound) = self.bound.get_mut(&port) {
                bound.retain(|&i| i != index);
                if bound.is_empty() {
                    self.bound.remove(&port);
                }
            }
        } else if let Some(count) = self.implicit.get_mut(&port) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.implicit.remove(&port);
            }
        }
    }

    /// Puts a connection into the demultiplexing table (in place of another connection with
    /// the same 4-tuple, if there were one).
    pub fn hash(&mut self, index: u32) {
        let Some(tcb) = self.conn_at(index) else {
            return;
        };
        tcb.set_hashed(true);
        let tuple = (tcb.local, tcb.remote);
        let slots = &self.slots;
        let keys = &self.keys;
        let entry = self.conns.entry(
            keys.hash_one(TupleKey::new(tuple.0, tuple.1)),
            |&i| tuple_at(slots, i) == Some(tuple),
            |&i| hash_at(keys, slots, i),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = index,
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(index);
            }
        }
    }

    /// Takes connection `index`, whose 4-tuple is `key`, out of the demultiplexing table.
    fn unhash(&mut self, index: u32, key: TupleKey) {
        if let Ok(e) = self
            .conns
            .find_entry(self.keys.hash_one(key), |&i| i == index)
        {
            e.remove();
        }
    }

    /// Registers a listener.
    pub fn add_listener(&mut self, index: u32, local: SocketAddrV4) -> io::Result<()> {
        if self.listeners.contains_key(&local) {
            return Err(io::ErrorKind::AddrInUse.into());
        }
        self.listeners.insert(local, index);
        Ok(())
    }

    /// Turns the socket in `index` into `socket` (e.g. a bound socket into a listener).
    pub fn replace(&mut self, index: u32, socket: Socket) {
        self.slots[index as usize].socket = Some(socket);
    }

    /// Queues a connection for output.
    pub fn touch(&mut self, index: u32) {
        if let Some(tcb) = self.conn_at(index)
            && !tcb.dirty()
        {
            tcb.set_dirty(true);
            self.dirty.push_back(index);
        }
    }

    /// The next connection queued for output (its flag cleared).
    pub fn pop_dirty(&mut self) -> Option<u32> {
        while let Some(index) = self.dirty.pop_front() {
            if let Some(tcb) = self.conn_at(index)
                && tcb.dirty()
            {
                tcb.set_dirty(false);
                return Some(index);
            }
        }
        None
    }

    /// Puts a connection back at the head of the output queue (the device pushed back).
    pub fn requeue_front(&mut self, index: u32) {
        if let Some(tcb) = self.conn_at(index)
            && !tcb.dirty()
        {
            tcb.set_dirty(true);
            self.dirty.push_front(index);
        }
    }

    /// Whether any connection waits for output.
    pub fn has_output(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// The earliest timer tick, for the stack's `poll_at`.
    pub fn next_timer(&self) -> Option<u64> {
        self.wheel.next_expiration()
    }

    /// Advances the wheel to `now`; returns the connections whose timer fired (drained by the
    /// caller through [`Table::take_fired`]).
    pub fn advance_timers(&mut self, now: Instant) -> usize {
        let mut fired = std::mem::take(&mut self.fired);
        self.wheel.advance(now.total_millis(), &mut fired);
        let n = fired.len();
        for &index in &fired {
            if let Some(tcb) = self.conn_at(index) {
                tcb.timer_tick = NO_TICK;
            }
        }
        self.fired = fired;
        n
    }

    /// The connections whose timers fired in the last [`Table::advance_timers`].
    pub fn take_fired(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.fired)
    }

    /// Gives back the vector from [`Table::take_fired`] for reuse.
    pub fn return_fired(&mut self, mut fired: Vec<u32>) {
        fired.clear();
        self.fired = fired;
    }

    /// After anything happened to connection `index`: unhash it once closed, start or stop the
    /// persist and keepalive timers, queue it for output, refile its timer, and free it when
    /// nobody can observe it any more. Returns false if it was freed.
    pub fn settle(&mut self, index: u32, env: &mut Env<'_>) -> bool {
        self.settle_inner(index, env, true)
    }

    /// [`Table::settle`] right after the connection's output ran: it is not queued again for
    /// what it could not send (a closed window, Nagle), only by the next event.
    pub fn settle_flushed(&mut self, index: u32, env: &mut Env<'_>) -> bool {
        self.settle_inner(index, env, false)
    }

    fn settle_inner(&mut self, index: u32, env: &mut Env<'_>, queue: bool) -> bool {
        let Some(tcb) = conn_in(&mut self.slots, index) else {
            return false;
        };
        if let Some((p, g)) = tcb.parent
            && tcb.state != State::Closed
            && !self.listener_alive(p, g)
        {
            let tcb = conn_in(&mut self.slots, index).expect("checked above");
            tcb.set_rst_now(tcb.state.is_synchronized());
            tcb.close_with(env, None);
            tcb.set_orphan(true);
        }
        // One borrow of the control block for the rest (fields apart: slots, wheel, counts).
        let tcb = conn_in(&mut self.slots, index).expect("checked above");
        tcb.update_persist(env.now);
        tcb.update_keepalive(env.config);
        if tcb.state == State::TimeWait || tcb.tw_counted() {
            count_time_wait(&mut self.time_wait, tcb, env);
        }
        let closed = tcb.state == State::Closed;
        if closed {
            let hashed = tcb.hashed();
            let reap = !tcb.rst_now()
                && !tcb.final_ack()
                && (tcb.orphan() || (tcb.parent.is_some() && !tcb.in_accept_queue()));
            if hashed {
                let key = TupleKey::new(tcb.local, tcb.remote);
                tcb.set_hashed(false);
                self.unhash(index, key);
            }
            if reap {
                self.free(index);
                return false;
            }
        }
        let tcb = conn_in(&mut self.slots, index).expect("checked above");
        if queue && !tcb.dirty() && tcb.wants_output() {
            tcb.set_dirty(true);
            self.dirty.push_back(index);
        }
        if tcb.state == State::TimeWait
            && tcb.orphan()
            && !tcb.dirty()
            && !tcb.ack_now()
            && self.compact_time_wait(index)
        {
            return true;
        }
        let tcb = conn_in(&mut self.slots, index).expect("checked above");
        refile_timer(&mut self.wheel, tcb, index);
        true
    }

    /// Whether slot `p` still holds the listener of generation `g`.
    fn listener_alive(&self, p: u32, g: u32) -> bool {
        matches!(
            self.slots.get(p as usize),
            Some(Slot { generation, socket: Some(Socket::Listener(_)), .. }) if *generation == g
        )
    }

    /// A listener's request is young no more (its SYN-ACK was retransmitted, or it left the
    /// SYN queue): its listener's `young` count drops.
    pub fn leave_young(&mut self, index: u32) {
        let Some(tcb) = self.conn_at(index) else {
            return;
        };
        if !tcb.young() {
            return;
        }
        tcb.set_young(false);
        if let Some((p, g)) = tcb.parent
            && let Some(l) = self.listener_at(p, g)
        {
            l.young = l.young.saturating_sub(1);
        }
    }

    /// Before a request's timers run: how many SYN-ACK retransmissions its listener allows it
    /// now (fewer when the SYN queue is crowded).
    pub fn prepare_request_timer(&mut self, index: u32, configured: u8) {
        let Some(tcb) = self.conn_at(index) else {
            return;
        };
        if tcb.state != State::SynReceived || tcb.active() {
            return;
        }
        let Some((p, g)) = tcb.parent else {
            return;
        };
        let limit = self.listener_at(p, g).map(|l| l.synack_retries(configured));
        if let Some(tcb) = self.conn_at(index) {
            tcb.synack_retries = limit;
        }
    }

    /// After a request's timers ran: a retransmitted SYN-ACK ends its youth.
    pub fn after_request_timer(&mut self, index: u32) {
        if let Some(tcb) = self.conn_at(index)
            && tcb.young()
            && (tcb.retries > 0 || tcb.state != State::SynReceived)
        {
            self.leave_young(index);
        }
    }

    /// Frees slot `index`: out of every map, its timer cancelled, its port released, its
    /// listener's queues updated; the generation moves on so old handles go stale.
    pub fn free(&mut self, index: u32) {
        let Some(socket) = self.slots[index as usize].socket.take() else {
            return;
        };
        match socket {
            Socket::Conn(tcb) => {
                if tcb.hashed() {
                    self.unhash(index, TupleKey::new(tcb.local, tcb.remote));
                }
                if tcb.tw_counted() {
                    self.time_wait -= 1;
                }
                if let Some(key) = tcb.timer_key {
                    self.wheel.remove(key);
                }
                if let Some((p, g)) = tcb.parent
                    && let Some(l) = self.listener_at(p, g)
                {
                    if tcb.in_accept_queue() {
                        l.accept_queue.retain(|&i| i != index);
                    } else {
                        l.syn_queue = l.syn_queue.saturating_sub(1);
                    }
                    if tcb.young() {
                        l.young = l.young.saturating_sub(1);
                    }
                }
                self.release_port(index, tcb.local.port());
                self.recycle(tcb);
            }
            Socket::Listener(l) => {
                self.listeners.remove(&l.local);
                self.release_port(index, l.local.port());
            }
            Socket::TimeWait(tw) => {
                self.unhash(index, TupleKey::new(tw.local, tw.remote));
                if let Some(key) = tw.timer {
                    self.wheel.remove(key);
                }
                self.time_wait -= 1;
                self.release_port(index, tw.local.port());
            }
        }
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
    }
}

mod time_wait;

#[cfg(test)]
mod tests;
