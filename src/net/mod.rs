// SPDX-License-Identifier: GPL-2.0

//! Network devices (`include/linux/netdevice.h`): an Ethernet device
//! allocated with `alloc_etherdev_mqs`, its `net_device_ops` as a
//! [`Driver`] trait, its transmit queues, and the RTNL lock.
//!
//! The device's private area holds one pointer: to the object that owns the
//! [`Registration`] (see [`HasRegistration`]). The callbacks borrow that
//! object; it outlives the registration because it contains it, and it
//! unregisters the device before anything else of it is dropped.

pub mod dim;
pub mod ethtool;
pub mod napi;
pub mod page_pool;
pub mod skb;
pub mod trace;

use crate::klib::bindings;
use crate::klib::kern::field::HasField;
use crate::klib::net::skb::SkBuff;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::{from_result, to_result};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// A driver's message level (`netif_msg`, `ethtool -s DEV msglvl`): which
/// classes of its non-error messages it prints. Errors are always printed.
pub struct MsgLevel(core::sync::atomic::AtomicU32);

impl MsgLevel {
    // The `NETIF_MSG_*` bits (include/linux/netdevice.h), the classes that
    // `ethtool -s DEV msglvl NAME on|off` names: a fixed user ABI.
    /// `drv`: driver events.
    pub const DRV: u32 = 1 << 0;
    /// `probe`: device setup and removal.
    pub const PROBE: u32 = 1 << 1;
    /// `link`: carrier changes.
    pub const LINK: u32 = 1 << 2;
    /// `ifup`: interface bring-up.
    pub const IFUP: u32 = 1 << 5;
    /// `hw`: hardware (here: interrupt backend) details.
    pub const HW: u32 = 1 << 13;
    /// What drivers print by default (as `netif_msg_init(-1, ...)` in most):
    /// driver, probe and link messages.
    pub const DEFAULT: u32 = Self::DRV | Self::PROBE | Self::LINK;

    /// The level a `debug` module parameter asks for, as `netif_msg_init()`
    /// reads it: below 0 (or 32 and above) `default`, 0 nothing, N the
    /// first N classes.
    pub const fn from_debug(debug: i32, default: u32) -> u32 {
        if debug < 0 || debug >= 32 {
            default
        } else if debug == 0 {
            0
        } else {
            (1u32 << debug) - 1
        }
    }

    /// The module's `debug` parameter, which most NIC drivers have
    /// (`netif_msg_init()` semantics, for [`MsgLevel::from_debug`]): a
    /// module that has it defines it in its own C helper file
    /// (`ntbnet_param_debug()`); -1 (the driver's default) in the others.
    pub fn module_debug() -> i32 {
        // SAFETY: Reads a module parameter; no preconditions.
        unsafe { bindings::ntbnet_param_debug() }
    }

    /// A level with `bits` enabled.
    pub const fn new(bits: u32) -> Self {
        Self(core::sync::atomic::AtomicU32::new(bits))
    }

    /// The enabled classes (`ethtool DEV`, "Current message level").
    pub fn get(&self) -> u32 {
        self.0.load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Enables exactly `bits`.
    pub fn set(&self, bits: u32) {
        self.0.store(bits, core::sync::atomic::Ordering::Relaxed)
    }

    /// Whether messages of class `bit` are printed.
    pub fn on(&self, bit: u32) -> bool {
        self.get() & bit != 0
    }
}

/// Length of an Ethernet header.
pub const ETH_HLEN: u32 = bindings::ETH_HLEN;
/// Smallest MTU of an Ethernet device.
pub const ETH_MIN_MTU: u32 = bindings::ETH_MIN_MTU;

/// Feature flags (`NETIF_F_*`).
pub mod features {
    use crate::klib::bindings;

    /// Scatter-gather: skbs with page fragments.
    pub const SG: u64 = 1 << bindings::NETIF_F_SG_BIT;
    /// The device computes any checksum (`CHECKSUM_PARTIAL` skbs).
    pub const HW_CSUM: u64 = 1 << bindings::NETIF_F_HW_CSUM_BIT;
    /// Fragments may be in high memory.
    pub const HIGHDMA: u64 = 1 << bindings::NETIF_F_HIGHDMA_BIT;
    /// Received checksums may be trusted.
    pub const RXCSUM: u64 = 1 << bindings::NETIF_F_RXCSUM_BIT;
    /// TCP segmentation offload over IPv4 (`SKB_GSO_TCPV4` skbs).
    pub const TSO: u64 = 1 << bindings::NETIF_F_TSO_BIT;
    /// TCP segmentation offload over IPv6 (`SKB_GSO_TCPV6` skbs).
    pub const TSO6: u64 = 1 << bindings::NETIF_F_TSO6_BIT;
    /// TCP segmentation offload with ECN (`SKB_GSO_TCP_ECN` skbs).
    pub const TSO_ECN: u64 = 1 << bindings::NETIF_F_TSO_ECN_BIT;
    /// Every segmentation offload (`NETIF_F_GSO_MASK`).
    pub const GSO_MASK: u64 =
        ((1 << (bindings::NETIF_F_GSO_LAST + 1)) - 1) & !((1 << bindings::NETIF_F_GSO_SHIFT) - 1);
}

/// The number of online CPUs (the default queue count of most drivers).
pub fn online_cpus() -> u32 {
    // SAFETY: Reads a counter; no preconditions.
    unsafe { bindings::ntbnet_num_online_cpus() }
}

/// A network device (`struct net_device`).
///
/// # Invariants
///
/// The wrapped `net_device` is allocated (by `alloc_etherdev_mqs`) for as
/// long as a reference to this object exists.
#[repr(transparent)]
pub struct Device(Opaque<bindings::net_device>);

// SAFETY: `net_device` is used from any thread; the methods below call
// functions that do their own locking or are documented as lockless.
unsafe impl Sync for Device {}
// SAFETY: See above.
unsafe impl Send for Device {}

impl Device {
    /// Creates a reference to a [`Device`] from a raw pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to an allocated `net_device` that stays allocated
    /// for the lifetime `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper of `net_device`; the
        // caller guarantees validity for `'a`.
        unsafe { &*ptr.cast() }
    }

    /// The raw `net_device` pointer.
    pub fn as_raw(&self) -> *mut bindings::net_device {
        self.0.get()
    }

    /// The interface name (`ntb0`); a template such as `ntb%d` until the
    /// device is registered.
    pub fn name(&self) -> &CStr {
        // SAFETY: The device is allocated (type invariant); `name` is a
        // NUL-terminated array that the core only rewrites under RTNL, in
        // place and NUL-terminated.
        unsafe { CStr::from_char_ptr((*self.as_raw()).name.as_ptr()) }
    }

    /// Sets the name template (`ntb%d`), before registration.
    fn set_name(&self, name: &CStr) {
        let bytes = name.as_bytes_with_nul();
        // SAFETY: The device is allocated and not registered yet, so nothing
        // else reads the name; the copy is bounded by the array's size.
        unsafe {
            let dst = &mut (*self.as_raw()).name;
            let n = bytes.len().min(dst.len());
            for (d, s) in dst.iter_mut().zip(&bytes[..n]) {
                *d = *s as kernel::ffi::c_char;
            }
            if let Some(last) = dst.last_mut() {
                *last = 0;
            }
        }
    }

    /// The current MTU.
    pub fn mtu(&self) -> u32 {
        // SAFETY: The device is allocated; `mtu` is read with READ_ONCE
        // semantics by the C side too.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.as_raw()).mtu)) }
    }

    /// Sets the MTU limits; call before registration.
    pub fn set_mtu_range(&self, min: u32, max: u32) {
        // SAFETY: The device is allocated and the driver configures it
        // before registering it.
        unsafe {
            (*self.as_raw()).min_mtu = min;
            (*self.as_raw()).max_mtu = max;
        }
    }

    /// Sets the feature flags (`NETIF_F_*`) the device has and those the
    /// user may toggle; call before registration.
    pub fn set_features(&self, features: u64, hw_features: u64) {
        // SAFETY: As in `set_mtu_range`.
        unsafe {
            (*self.as_raw()).features = features;
            (*self.as_raw()).hw_features = hw_features;
        }
    }

    /// The active feature flags (`NETIF_F_*`).
    pub fn features(&self) -> u64 {
        // SAFETY: The device is allocated; the word is read once.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*self.as_raw()).features)) }
    }

    /// Sets the hardware address; call before registration.
    pub fn set_mac(&self, mac: &[u8; 6]) {
        // SAFETY: The device is allocated; `eth_hw_addr_set` copies 6 bytes.
        unsafe { bindings::eth_hw_addr_set(self.as_raw(), mac.as_ptr()) }
    }

    /// The hardware address.
    pub fn mac(&self) -> [u8; 6] {
        let mut mac = [0u8; 6];
        // SAFETY: The device is allocated; an Ethernet device's `dev_addr`
        // holds 6 bytes.
        unsafe { core::ptr::copy_nonoverlapping((*self.as_raw()).dev_addr, mac.as_mut_ptr(), 6) };
        mac
    }

    /// Turns the carrier on (`netif_carrier_on`).
    pub fn carrier_on(&self) {
        // SAFETY: The device is allocated.
        unsafe { bindings::netif_carrier_on(self.as_raw()) }
    }

    /// Turns the carrier off (`netif_carrier_off`).
    pub fn carrier_off(&self) {
        // SAFETY: The device is allocated.
        unsafe { bindings::netif_carrier_off(self.as_raw()) }
    }

    /// Whether the carrier is on.
    pub fn carrier_ok(&self) -> bool {
        // SAFETY: The device is allocated.
        unsafe { bindings::netif_carrier_ok(self.as_raw()) }
    }

    /// Whether the interface is up (`netif_running`).
    pub fn is_running(&self) -> bool {
        // SAFETY: The device is allocated.
        unsafe { bindings::netif_running(self.as_raw()) }
    }

    /// Transmit queues allocated.
    pub fn num_tx_queues(&self) -> u32 {
        // SAFETY: The device is allocated; the count is fixed at allocation.
        unsafe { (*self.as_raw()).num_tx_queues }
    }

    /// Transmit queues in use.
    pub fn real_num_tx_queues(&self) -> u32 {
        // SAFETY: The device is allocated; the count changes only under
        // RTNL and is read once.
        unsafe {
            core::ptr::read_volatile(core::ptr::addr_of!((*self.as_raw()).real_num_tx_queues))
        }
    }

    /// Sets how many transmit and receive queues are in use.
    pub fn set_real_num_queues(&self, _rtnl: &Rtnl, tx: u32, rx: u32) -> Result {
        // SAFETY: The device is allocated and RTNL is held (the token proves
        // it), as the function requires for a registered device.
        to_result(unsafe { bindings::netif_set_real_num_queues(self.as_raw(), tx, rx) })
    }

    /// Spreads the first `n` transmit queues over the CPUs for transmit
    /// packet steering (XPS): queue `q` serves the `q`-th CPU (in the
    /// order of `cpumask_local_spread` near `node`, local first), so that a
    /// flow stays on the queue of the CPU that sends it. With more CPUs
    /// than queues, the rest share the queues round-robin.
    pub fn set_xps_spread(&self, _rtnl: &Rtnl, n: u32, node: kernel::ffi::c_int) -> Result {
        if n == 0 || n > self.num_tx_queues() {
            return Err(EINVAL);
        }
        // SAFETY: Allocated device, `n` queues exist (checked); RTNL held.
        to_result(unsafe { bindings::ntbnet_set_xps_spread(self.as_raw(), n, node) })
    }

    /// Transmit queue `q`, if it exists.
    pub fn tx_queue(&self, q: u32) -> Option<&TxQueue> {
        if q >= self.num_tx_queues() {
            return None;
        }
        // SAFETY: `q` is below the number of queues allocated with the
        // device, which live as long as it does.
        Some(unsafe { TxQueue::from_raw(bindings::netdev_get_tx_queue(self.as_raw(), q)) })
    }

    /// Stops every transmit queue and waits for running transmits
    /// (`netif_tx_disable`).
    pub fn tx_disable(&self) {
        // SAFETY: The device is allocated.
        unsafe { bindings::netif_tx_disable(self.as_raw()) }
    }

    /// Restarts every transmit queue (`netif_tx_wake_all_queues`).
    pub fn tx_wake_all(&self) {
        // SAFETY: The device is allocated.
        unsafe { bindings::netif_tx_wake_all_queues(self.as_raw()) }
    }

    /// Resets the byte queue limits of every queue (`netdev_tx_reset_queue`).
    pub fn tx_reset_all(&self) {
        for q in 0..self.num_tx_queues() {
            if let Some(txq) = self.tx_queue(q) {
                txq.reset();
            }
        }
    }
}

/// A transmit queue (`struct netdev_queue`).
///
/// # Invariants
///
/// The queue belongs to an allocated `net_device`.
#[repr(transparent)]
pub struct TxQueue(Opaque<bindings::netdev_queue>);

impl TxQueue {
    /// # Safety
    ///
    /// `ptr` must be a queue of a device that stays allocated for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::netdev_queue) -> &'a Self {
        // SAFETY: Transparent wrapper; validity from the caller.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *mut bindings::netdev_queue {
        self.0.get()
    }

    /// Stops the queue (`netif_tx_stop_queue`).
    pub fn stop(&self) {
        // SAFETY: The queue is valid (type invariant).
        unsafe { bindings::netif_tx_stop_queue(self.as_raw()) }
    }

    /// Restarts a stopped queue and schedules it (`netif_tx_wake_queue`).
    pub fn wake(&self) {
        // SAFETY: The queue is valid (type invariant).
        unsafe { bindings::netif_tx_wake_queue(self.as_raw()) }
    }

    /// Whether the driver stopped the queue.
    pub fn is_stopped(&self) -> bool {
        // SAFETY: The queue is valid (type invariant).
        unsafe { bindings::netif_tx_queue_stopped(self.as_raw()) }
    }

    /// Whether the queue is stopped by the driver or by the byte queue
    /// limits.
    pub fn xmit_stopped(&self) -> bool {
        // SAFETY: The queue is valid (type invariant).
        unsafe { bindings::netif_xmit_stopped(self.as_raw()) }
    }

    /// Accounts `bytes` handed to the hardware (BQL); returns whether the
    /// hardware must be told now (no more frames follow, or the queue
    /// stopped), as `__netdev_tx_sent_queue`.
    pub fn sent(&self, bytes: u32, more: bool) -> bool {
        // SAFETY: The queue is valid; called from the transmit path.
        unsafe { bindings::__netdev_tx_sent_queue(self.as_raw(), bytes, more) }
    }

    /// Accounts completed frames and bytes (BQL); may restart the queue.
    pub fn completed(&self, pkts: u32, bytes: u32) {
        // SAFETY: The queue is valid (type invariant).
        unsafe { bindings::netdev_tx_completed_queue(self.as_raw(), pkts, bytes) }
    }

    /// Forgets what is in flight (BQL), after a reset of the ring.
    pub fn reset(&self) {
        // SAFETY: The queue is valid (type invariant).
        unsafe { bindings::netdev_tx_reset_queue(self.as_raw()) }
    }
}

/// Whether more frames follow the one being transmitted
/// (`netdev_xmit_more`); meaningful in [`Driver::start_xmit`] only.
pub fn xmit_more() -> bool {
    // SAFETY: Reads a per-CPU flag; no preconditions.
    unsafe { bindings::ntbnet_netdev_xmit_more() }
}

/// Proof that the RTNL lock is held: given to callbacks that the core calls
/// under it, or made by [`Rtnl::lock`].
pub struct Rtnl {
    owned: bool,
    _not_send: PhantomData<*mut ()>,
}

impl Rtnl {
    /// Takes the RTNL lock; released on drop. May sleep.
    pub fn lock() -> Self {
        // SAFETY: Process context (the caller may sleep); no preconditions.
        unsafe { bindings::rtnl_lock() };
        Self {
            owned: true,
            _not_send: PhantomData,
        }
    }

    /// A token for a callback that the core calls with RTNL held.
    ///
    /// # Safety
    ///
    /// RTNL must be held for the token's whole life.
    pub(crate) unsafe fn assume_held() -> Self {
        Self {
            owned: false,
            _not_send: PhantomData,
        }
    }
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: This token took the lock in `lock`.
            unsafe { bindings::rtnl_unlock() };
        }
    }
}

/// Runs `f` with bottom halves disabled on this CPU: for process-context
/// code that takes a lock that softirq code (NAPI, timers, transmit) takes
/// too.
pub fn with_bh_disabled<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: Balanced with the enable below; no other preconditions.
    unsafe { bindings::ntbnet_local_bh_disable() };
    let r = f();
    // SAFETY: Disabled above.
    unsafe { bindings::ntbnet_local_bh_enable() };
    r
}

/// What [`Driver::start_xmit`] did with a frame.
pub enum TxResult {
    /// The frame was taken (sent or dropped); the skb is gone.
    Ok,
    /// The frame could not be queued; the core requeues `SkBuff`. Only when
    /// the driver stopped the queue too late.
    Busy(SkBuff),
}

/// Interface statistics (`struct rtnl_link_stats64`).
#[derive(Default)]
pub struct Stats64 {
    /// Received packets.
    pub rx_packets: u64,
    /// Transmitted packets.
    pub tx_packets: u64,
    /// Received bytes.
    pub rx_bytes: u64,
    /// Transmitted bytes.
    pub tx_bytes: u64,
    /// Bad frames received.
    pub rx_errors: u64,
    /// Frames that could not be sent.
    pub tx_errors: u64,
    /// Received frames dropped (no memory, queue not running).
    pub rx_dropped: u64,
    /// Frames dropped on transmit.
    pub tx_dropped: u64,
    /// Received frames of a bad length (part of `rx_errors`).
    pub rx_length_errors: u64,
    /// Received frames with framing errors (part of `rx_errors`).
    pub rx_frame_errors: u64,
}

/// The `net_device_ops` of a driver, implemented by the object that owns
/// the [`Registration`].
#[vtable]
pub trait Driver: HasRegistration + Send + Sync + Sized + 'static {
    /// `ndo_open`: the interface goes up.
    fn open(&self, dev: &Device, rtnl: &Rtnl) -> Result;

    /// `ndo_stop`: the interface goes down.
    fn stop(&self, dev: &Device, rtnl: &Rtnl) -> Result;

    /// `ndo_start_xmit`: transmit `skb` on its queue
    /// ([`SkBuff::queue_mapping`]). Called with bottom halves disabled and
    /// the queue's transmit lock held.
    fn start_xmit(&self, dev: &Device, skb: SkBuff) -> TxResult;

    /// `ndo_get_stats64`.
    fn get_stats64(&self, _dev: &Device, _stats: &mut Stats64) {}

    /// `ndo_features_check`: the offloads (`features`, a subset of the
    /// device's) the driver can do for this `skb`; the core does the others
    /// in software before [`Self::start_xmit`]. Called without locks, in
    /// the transmit path.
    fn features_check(&self, _dev: &Device, _skb: &SkBuff, features: u64) -> u64 {
        features
    }

    /// `ndo_select_queue`: the transmit queue for `skb`, given the queue its
    /// socket used last (`current`, if it has one); `None` leaves the choice
    /// to the core (XPS, else the flow hash, as without this callback).
    /// Called without locks, in the transmit path.
    fn select_queue(&self, _dev: &Device, _skb: &SkBuff, _current: Option<u16>) -> Option<u16> {
        None
    }

    /// `ndo_change_mtu`: the core has checked `new_mtu` against the device's
    /// range; the driver sets it with [`MtuChange::commit`].
    fn change_mtu(&self, _dev: &Device, change: MtuChange<'_>) -> Result {
        change.commit();
        Ok(())
    }
}

/// An MTU change requested through `ndo_change_mtu`.
pub struct MtuChange<'a> {
    dev: &'a Device,
    new: u32,
    _rtnl: Rtnl,
}

impl MtuChange<'_> {
    /// The requested MTU.
    pub fn new_mtu(&self) -> u32 {
        self.new
    }

    /// RTNL, which the core holds during the change.
    pub fn rtnl(&self) -> &Rtnl {
        &self._rtnl
    }

    /// Sets the device's MTU to the requested one.
    pub fn commit(self) {
        // SAFETY: The device is allocated; the core holds RTNL, and the MTU
        // is published with a single store (WRITE_ONCE in C).
        unsafe {
            core::ptr::write_volatile(core::ptr::addr_of_mut!((*self.dev.as_raw()).mtu), self.new)
        }
    }
}

/// Objects that embed a `struct device`.
///
/// # Safety
///
/// `raw_device` returns a pointer to a live, registered `struct device`
/// that stays valid as long as `self` does.
pub unsafe trait AsDevice {
    /// The embedded `struct device`.
    fn raw_device(&self) -> *mut bindings::device;
}

/// Types that own a [`Registration`] of themselves, in a field
/// ([`HasField`]).
///
/// # Safety
///
/// The owner's drop must unregister the device
/// ([`Registration::unregister`]) before it drops any other field that the
/// callbacks use. Use [`impl_has_registration!`](crate::impl_has_registration).
pub unsafe trait HasRegistration: HasField<Registration<Self>> {}

/// Implements [`HasRegistration`] for a type and its `Registration<Self>`
/// field. The type's drop must unregister first.
#[macro_export]
macro_rules! impl_has_registration {
    ($type:ty, $field:ident) => {
        $crate::impl_has_field!($type, $field: $crate::klib::net::Registration<$type>);
        // SAFETY: The invoker guarantees the drop order.
        unsafe impl $crate::klib::net::HasRegistration for $type {}
    };
}

/// An Ethernet device of driver `T`, embedded in the `T` that owns it:
/// allocated by [`Registration::new`], registered by
/// [`Registration::register`], unregistered and freed on drop.
///
/// # Invariants
///
/// `dev` is an allocated `net_device` whose ops are `Adapter<T>`'s until
/// drop; once registered, its private area points to the `T` that contains
/// this registration.
pub struct Registration<T> {
    dev: NonNull<bindings::net_device>,
    registered: AtomicBool,
    _p: PhantomData<T>,
}

// SAFETY: The registration is a pointer to a `net_device`, used from any
// thread through functions that lock as needed.
unsafe impl<T: Driver + ethtool::Ops> Send for Registration<T> {}
// SAFETY: See above.
unsafe impl<T: Driver + ethtool::Ops> Sync for Registration<T> {}

impl<T: Driver + ethtool::Ops> Registration<T> {
    /// Allocates an Ethernet device with `txqs` transmit and `rxqs` receive
    /// queues, named after `name` (a template such as `ntb%d`).
    pub fn new(name: &CStr, txqs: u32, rxqs: u32) -> Result<Self> {
        let size = core::mem::size_of::<*const T>() as kernel::ffi::c_int;
        // SAFETY: No preconditions; NULL on failure.
        let dev = unsafe { bindings::alloc_etherdev_mqs(size, txqs, rxqs) };
        let dev = NonNull::new(dev).ok_or(ENOMEM)?;
        // SAFETY: `dev` was just allocated and is not registered; the ops
        // tables are statics (promoted constants).
        unsafe {
            (*dev.as_ptr()).netdev_ops = &Adapter::<T>::NETDEV_OPS;
            (*dev.as_ptr()).ethtool_ops = &ethtool::Adapter::<T>::OPS;
            // The private area is zeroed by the allocation: no owner until
            // `register`.
        }
        // INVARIANT: Allocated, with this driver's ops.
        let reg = Self {
            dev,
            registered: AtomicBool::new(false),
            _p: PhantomData,
        };
        reg.device().set_name(name);
        Ok(reg)
    }

    /// The device.
    pub fn device(&self) -> &Device {
        // SAFETY: Allocated until drop (type invariant).
        unsafe { Device::from_raw(self.dev.as_ptr()) }
    }

    /// Makes `parent` the interface's parent device (`SET_NETDEV_DEV`):
    /// `/sys/class/net/<name>/device`, udev's and ethtool's view of the
    /// hardware. Before [`Self::register`]; the parent must outlive the
    /// registration (registration takes a reference to it).
    pub fn set_parent(&self, parent: &impl AsDevice) -> Result {
        if self.is_registered() {
            return Err(EBUSY);
        }
        // SAFETY: Allocated and not registered (checked): nothing else uses
        // the embedded device yet; `raw_device` is a live device
        // (`AsDevice`), referenced by `device_add` at registration.
        unsafe { (*self.dev.as_ptr()).dev.parent = parent.raw_device() };
        Ok(())
    }

    /// Registers the device (`register_netdev`); its callbacks then run on
    /// `owner`, the object that contains this registration.
    pub fn register(owner: &Arc<T>) -> Result {
        let this: &Self = owner.field();
        let dev = this.dev.as_ptr();
        // SAFETY: The private area holds one pointer (see `new`); nothing
        // reads it before registration. `owner` is in an `Arc`, so it does
        // not move, and it lives as long as the registration it contains;
        // its drop unregisters first (`HasRegistration`).
        unsafe {
            let slot = bindings::netdev_priv(dev).cast::<*const T>();
            slot.write(&**owner as *const T);
        }
        if this.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: `dev` is allocated, set up, and not registered.
        let ret = to_result(unsafe { bindings::register_netdev(dev) });
        if ret.is_err() {
            this.registered.store(false, Ordering::Release);
        }
        ret
    }
}

impl<T> Registration<T> {
    /// Whether the device is registered.
    pub fn is_registered(&self) -> bool {
        self.registered.load(Ordering::Acquire)
    }

    /// Unregisters the device (`unregister_netdev`), if registered: the
    /// interface is closed, and no callback runs once this returns. May
    /// sleep; takes RTNL.
    pub fn unregister(&self) {
        if self.registered.swap(false, Ordering::AcqRel) {
            // SAFETY: The device is registered.
            unsafe { bindings::unregister_netdev(self.dev.as_ptr()) };
        }
    }
}

impl<T> Drop for Registration<T> {
    fn drop(&mut self) {
        self.unregister();
        // SAFETY: The device was allocated in `new` and is not registered;
        // `free_netdev` also deletes NAPI contexts still listed on it.
        unsafe { bindings::free_netdev(self.dev.as_ptr()) };
    }
}

/// The owner of a registered device, from its private area.
///
/// # Safety
///
/// `dev` must be a device registered by a `Registration<T>`, in a callback
/// that the core makes only while it is registered.
pub(crate) unsafe fn owner<'a, T: Driver + ethtool::Ops>(dev: *mut bindings::net_device) -> &'a T {
    // SAFETY: `register` stored a pointer to the owner, which outlives the
    // registration (caller's contract).
    unsafe { &**bindings::netdev_priv(dev).cast::<*const T>() }
}

/// Connects the `net_device_ops` callbacks to a [`Driver`].
struct Adapter<T>(PhantomData<T>);

impl<T: Driver + ethtool::Ops> Adapter<T> {
    const NETDEV_OPS: bindings::net_device_ops = bindings::net_device_ops {
        ndo_open: Some(Self::open),
        ndo_stop: Some(Self::stop),
        ndo_start_xmit: Some(Self::start_xmit),
        ndo_get_stats64: if T::HAS_GET_STATS64 {
            Some(Self::get_stats64)
        } else {
            None
        },
        ndo_change_mtu: Some(Self::change_mtu),
        ndo_features_check: if T::HAS_FEATURES_CHECK {
            Some(Self::features_check)
        } else {
            None
        },
        ndo_select_queue: if T::HAS_SELECT_QUEUE {
            Some(Self::select_queue)
        } else {
            None
        },
        ndo_validate_addr: Some(bindings::eth_validate_addr),
        ndo_set_mac_address: Some(bindings::eth_mac_addr),
        // SAFETY: All-zero is a valid `net_device_ops` (no callbacks).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// # Safety
    ///
    /// Called by the core, under RTNL, for a registered device.
    unsafe extern "C" fn open(dev: *mut bindings::net_device) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: Registered device (callback contract); RTNL is held.
            let (owner, dev, rtnl) =
                unsafe { (owner::<T>(dev), Device::from_raw(dev), Rtnl::assume_held()) };
            owner.open(dev, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core, under RTNL, for a registered device.
    unsafe extern "C" fn stop(dev: *mut bindings::net_device) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: As in `open`.
            let (owner, dev, rtnl) =
                unsafe { (owner::<T>(dev), Device::from_raw(dev), Rtnl::assume_held()) };
            owner.stop(dev, &rtnl)?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core with an skb it hands over and a registered device.
    unsafe extern "C" fn start_xmit(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
    ) -> bindings::netdev_tx_t {
        // SAFETY: Registered device; the skb is ours from here on, unless
        // we return NETDEV_TX_BUSY, in which case the core keeps it.
        let (owner, dev, skb) = unsafe {
            (
                owner::<T>(dev),
                Device::from_raw(dev),
                SkBuff::from_raw(skb),
            )
        };
        match owner.start_xmit(dev, skb) {
            TxResult::Ok => bindings::netdev_tx_NETDEV_TX_OK,
            TxResult::Busy(skb) => {
                // The core still owns the skb when we return BUSY.
                let _ = skb.into_raw();
                bindings::netdev_tx_NETDEV_TX_BUSY
            }
        }
    }

    /// # Safety
    ///
    /// Called by the core for a registered device with a valid `storage`.
    unsafe extern "C" fn get_stats64(
        dev: *mut bindings::net_device,
        storage: *mut bindings::rtnl_link_stats64,
    ) {
        // SAFETY: Registered device (callback contract).
        let (owner, d) = unsafe { (owner::<T>(dev), Device::from_raw(dev)) };
        let mut s = Stats64::default();
        owner.get_stats64(d, &mut s);
        // SAFETY: `storage` is valid for writes (callback contract); the
        // core zeroed it, and we fill the counters we keep.
        unsafe {
            let st = &mut *storage;
            st.rx_packets = s.rx_packets;
            st.tx_packets = s.tx_packets;
            st.rx_bytes = s.rx_bytes;
            st.tx_bytes = s.tx_bytes;
            st.rx_errors = s.rx_errors;
            st.tx_errors = s.tx_errors;
            st.rx_dropped = s.rx_dropped;
            st.tx_dropped = s.tx_dropped;
            st.rx_length_errors = s.rx_length_errors;
            st.rx_frame_errors = s.rx_frame_errors;
        }
    }

    /// # Safety
    ///
    /// Called by the core for a registered device and an skb it owns.
    unsafe extern "C" fn features_check(
        skb: *mut bindings::sk_buff,
        dev: *mut bindings::net_device,
        features: bindings::netdev_features_t,
    ) -> bindings::netdev_features_t {
        // SAFETY: Registered device (callback contract).
        let (owner, d) = unsafe { (owner::<T>(dev), Device::from_raw(dev)) };
        // SAFETY: The core owns the skb for the duration of the call; the
        // borrow is not freed (`ManuallyDrop`).
        let skb = core::mem::ManuallyDrop::new(unsafe { SkBuff::from_raw(skb) });
        owner.features_check(d, &skb, features) & features
    }

    /// # Safety
    ///
    /// Called by the core for a registered device and an skb it owns.
    unsafe extern "C" fn select_queue(
        dev: *mut bindings::net_device,
        skb: *mut bindings::sk_buff,
        sb_dev: *mut bindings::net_device,
    ) -> u16 {
        // SAFETY: Registered device (callback contract).
        let (owner, d) = unsafe { (owner::<T>(dev), Device::from_raw(dev)) };
        // SAFETY: The core owns the skb for the duration of the call; the
        // borrow is not freed (`ManuallyDrop`).
        let s = core::mem::ManuallyDrop::new(unsafe { SkBuff::from_raw(skb) });
        // SAFETY: A valid skb.
        let current = u16::try_from(unsafe { bindings::ntbnet_skb_sk_tx_queue(skb) }).ok();
        match owner.select_queue(d, &s, current) {
            Some(q) => q,
            // SAFETY: The arguments the core passed us, as it would pass
            // them to its own choice without this callback.
            None => unsafe { bindings::ntbnet_netdev_pick_tx(dev, skb, sb_dev) },
        }
    }

    /// # Safety
    ///
    /// Called by the core, under RTNL, for a registered device.
    unsafe extern "C" fn change_mtu(
        dev: *mut bindings::net_device,
        new_mtu: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: As in `open`.
            let (owner, dev, rtnl) =
                unsafe { (owner::<T>(dev), Device::from_raw(dev), Rtnl::assume_held()) };
            let new = u32::try_from(new_mtu).map_err(|_| EINVAL)?;
            owner.change_mtu(
                dev,
                MtuChange {
                    dev,
                    new,
                    _rtnl: rtnl,
                },
            )?;
            Ok(0)
        })
    }
}
