// SPDX-License-Identifier: GPL-2.0

//! ethtool operations (`struct ethtool_ops`) as an [`Ops`] trait,
//! implemented by the same object as the device's [`net::Driver`].
//!
//! The core calls every operation with RTNL held.

use crate::klib::bindings;
use crate::klib::net::{self, Device, Rtnl};
use core::fmt::Write;
use core::marker::PhantomData;
use kernel::error::from_result;
use kernel::prelude::*;
use kernel::str::CStr;

/// What ethtool expects for an operation a driver does not support.
pub use crate::klib::kern::errno::eopnotsupp;

/// Length of one statistics name.
pub const GSTRING_LEN: usize = bindings::ETH_GSTRING_LEN as usize;

/// Copies `src` into a fixed C string field, truncated and NUL-terminated.
fn copy_cstr(dst: &mut [kernel::ffi::c_char], src: &CStr) {
    let src = src.as_bytes();
    let n = src.len().min(dst.len().saturating_sub(1));
    for (d, s) in dst.iter_mut().zip(src.iter().take(n)) {
        *d = *s as kernel::ffi::c_char;
    }
    if let Some(d) = dst.get_mut(n) {
        *d = 0;
    }
}

/// Driver information (`ethtool -i`).
pub struct DrvInfo<'a>(&'a mut bindings::ethtool_drvinfo);

impl DrvInfo<'_> {
    /// Sets the driver name.
    pub fn set_driver(&mut self, s: &CStr) {
        copy_cstr(&mut self.0.driver, s);
    }

    /// Sets the driver version.
    pub fn set_version(&mut self, s: &CStr) {
        copy_cstr(&mut self.0.version, s);
    }

    /// Sets the bus address of the device.
    pub fn set_bus_info(&mut self, s: &CStr) {
        copy_cstr(&mut self.0.bus_info, s);
    }

    /// Sets the firmware version, formatted and truncated to fit (31
    /// bytes and the NUL).
    pub fn set_fw_version(&mut self, args: core::fmt::Arguments<'_>) {
        let mut buf = [0u8; 32];
        let n = self.0.fw_version.len().min(buf.len());
        let mut w = SlotWriter {
            slot: buf.get_mut(..n).unwrap_or(&mut []),
            len: 0,
        };
        let _ = w.write_fmt(args);
        for (d, s) in self.0.fw_version.iter_mut().zip(buf.iter()) {
            *d = *s as kernel::ffi::c_char;
        }
    }
}

/// The string sets a driver may describe.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StringSet {
    /// Names of [`Ops::get_ethtool_stats`] counters (`ETH_SS_STATS`).
    Stats,
    /// Anything else.
    Other,
}

impl StringSet {
    fn from_raw(sset: u32) -> Self {
        if sset == bindings::ethtool_stringset_ETH_SS_STATS {
            Self::Stats
        } else {
            Self::Other
        }
    }
}

/// The names of a string set, written one after the other.
pub struct Strings<'a> {
    buf: &'a mut [u8],
    next: usize,
}

impl Strings<'_> {
    /// Appends a name, formatted and truncated to 31 bytes; names beyond
    /// the count given by [`Ops::get_sset_count`] are ignored.
    pub fn push(&mut self, args: core::fmt::Arguments<'_>) {
        let start = self.next.saturating_mul(GSTRING_LEN);
        let Some(slot) = self.buf.get_mut(start..start.saturating_add(GSTRING_LEN)) else {
            return;
        };
        let mut w = SlotWriter { slot, len: 0 };
        let _ = w.write_fmt(args);
        self.next += 1;
    }
}

/// Writes into one zeroed name slot, keeping its last byte NUL.
struct SlotWriter<'a> {
    slot: &'a mut [u8],
    len: usize,
}

impl Write for SlotWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if self.len + 1 >= self.slot.len() {
                break;
            }
            if let Some(d) = self.slot.get_mut(self.len) {
                *d = b;
            }
            self.len += 1;
        }
        Ok(())
    }
}

/// Queue counts (`ethtool -l/-L`); only combined channels.
#[derive(Clone, Copy, Default)]
pub struct Channels {
    /// Most combined channels.
    pub max_combined: u32,
    /// Combined channels in use (or requested).
    pub combined: u32,
}

/// Ring sizes (`ethtool -g/-G`).
#[derive(Clone, Copy, Default)]
pub struct RingParam {
    /// Largest receive ring.
    pub rx_max: u32,
    /// Largest transmit ring.
    pub tx_max: u32,
    /// Receive ring size in use (or requested).
    pub rx: u32,
    /// Transmit ring size in use (or requested).
    pub tx: u32,
}

/// Receive interrupt coalescing (`ethtool -c`, `ethtool -C`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coalesce {
    /// Microseconds a receive interrupt may be held back (`rx-usecs`);
    /// 0: none.
    pub rx_usecs: u32,
    /// Frames after which the interrupt comes anyway (`rx-frames`).
    pub rx_frames: u32,
    /// Whether the driver moderates on its own (`adaptive-rx`).
    pub adaptive_rx: bool,
}

/// `ETHTOOL_COALESCE_RX_USECS | ETHTOOL_COALESCE_RX_MAX_FRAMES |
/// ETHTOOL_COALESCE_USE_ADAPTIVE_RX` (`BIT()`s, which bindgen cannot
/// evaluate).
const COALESCE_RX: u32 = (1 << 0) | (1 << 1) | (1 << 9);

/// Link settings (`ethtool ntb0`).
pub struct LinkSettings<'a>(&'a mut bindings::ethtool_link_ksettings);

impl LinkSettings<'_> {
    /// Sets the speed in Mb/s, `None` if unknown; full duplex, no
    /// autonegotiation, port "other".
    pub fn set(&mut self, speed_mbps: Option<u32>) {
        let b = &mut self.0.base;
        b.speed = speed_mbps.unwrap_or(bindings::SPEED_UNKNOWN as u32);
        b.duplex = bindings::DUPLEX_FULL as u8;
        b.port = bindings::PORT_OTHER as u8;
        b.autoneg = bindings::AUTONEG_DISABLE as u8;
    }
}

/// The ethtool operations of a driver. Everything runs under RTNL.
#[vtable]
pub trait Ops: net::Driver {
    /// `ethtool -i`.
    fn get_drvinfo(&self, _dev: &Device, _info: &mut DrvInfo<'_>) {}

    /// Number of names in `sset`.
    fn get_sset_count(&self, _dev: &Device, _sset: StringSet) -> Result<u32> {
        Err(eopnotsupp())
    }

    /// The names of `sset`.
    fn get_strings(&self, _dev: &Device, _sset: StringSet, _out: &mut Strings<'_>) {}

    /// `ethtool -S`: one value per name of [`StringSet::Stats`].
    fn get_ethtool_stats(&self, _dev: &Device, _data: &mut [u64]) {}

    /// `ethtool -l`.
    fn get_channels(&self, _dev: &Device) -> Channels {
        Channels::default()
    }

    /// `ethtool -L`; the core has checked the counts against the maxima.
    fn set_channels(&self, _dev: &Device, _rtnl: &Rtnl, _ch: Channels) -> Result {
        Err(eopnotsupp())
    }

    /// `ethtool -g`.
    fn get_ringparam(&self, _dev: &Device) -> RingParam {
        RingParam::default()
    }

    /// `ethtool -G`; the core has checked the sizes against the maxima.
    fn set_ringparam(&self, _dev: &Device, _rtnl: &Rtnl, _ring: RingParam) -> Result {
        Err(eopnotsupp())
    }

    /// `ethtool DEV`.
    fn get_link_ksettings(&self, _dev: &Device, _ks: &mut LinkSettings<'_>) -> Result {
        Err(eopnotsupp())
    }

    /// The message level (`NETIF_MSG_*` bits, see [`net::MsgLevel`]).
    fn get_msglevel(&self, _dev: &Device) -> u32 {
        0
    }

    /// `ethtool -s DEV msglvl ...`.
    fn set_msglevel(&self, _dev: &Device, _level: u32) {}

    /// `ethtool -c`.
    fn get_coalesce(&self, _dev: &Device) -> Coalesce {
        Coalesce::default()
    }

    /// `ethtool -C`; the core has rejected the parameters other than
    /// `rx-usecs`, `rx-frames` and `adaptive-rx`.
    fn set_coalesce(&self, _dev: &Device, _rtnl: &Rtnl, _c: Coalesce) -> Result {
        Err(eopnotsupp())
    }

    /// `ethtool --per-queue queue_mask M --show-coalesce`: what queue
    /// `queue` uses now.
    fn get_per_queue_coalesce(&self, _dev: &Device, _queue: u32) -> Result<Coalesce> {
        Err(eopnotsupp())
    }
}

/// Connects the `ethtool_ops` callbacks to an [`Ops`].
pub(crate) struct Adapter<T>(PhantomData<T>);

impl<T: Ops + net::Driver> Adapter<T> {
    pub(crate) const OPS: bindings::ethtool_ops = bindings::ethtool_ops {
        get_drvinfo: if T::HAS_GET_DRVINFO {
            Some(Self::get_drvinfo)
        } else {
            None
        },
        get_link: Some(bindings::ethtool_op_get_link),
        get_sset_count: if T::HAS_GET_SSET_COUNT {
            Some(Self::get_sset_count)
        } else {
            None
        },
        get_strings: if T::HAS_GET_STRINGS {
            Some(Self::get_strings)
        } else {
            None
        },
        get_ethtool_stats: if T::HAS_GET_ETHTOOL_STATS {
            Some(Self::get_ethtool_stats)
        } else {
            None
        },
        get_channels: if T::HAS_GET_CHANNELS {
            Some(Self::get_channels)
        } else {
            None
        },
        set_channels: if T::HAS_SET_CHANNELS {
            Some(Self::set_channels)
        } else {
            None
        },
        get_ringparam: if T::HAS_GET_RINGPARAM {
            Some(Self::get_ringparam)
        } else {
            None
        },
        set_ringparam: if T::HAS_SET_RINGPARAM {
            Some(Self::set_ringparam)
        } else {
            None
        },
        get_link_ksettings: if T::HAS_GET_LINK_KSETTINGS {
            Some(Self::get_link_ksettings)
        } else {
            None
        },
        get_msglevel: if T::HAS_GET_MSGLEVEL {
            Some(Self::get_msglevel)
        } else {
            None
        },
        set_msglevel: if T::HAS_SET_MSGLEVEL {
            Some(Self::set_msglevel)
        } else {
            None
        },
        supported_coalesce_params: if T::HAS_SET_COALESCE { COALESCE_RX } else { 0 },
        get_coalesce: if T::HAS_GET_COALESCE {
            Some(Self::get_coalesce)
        } else {
            None
        },
        set_coalesce: if T::HAS_SET_COALESCE {
            Some(Self::set_coalesce)
        } else {
            None
        },
        get_per_queue_coalesce: if T::HAS_GET_PER_QUEUE_COALESCE {
            Some(Self::get_per_queue_coalesce)
        } else {
            None
        },
        // SAFETY: All-zero is a valid `ethtool_ops` (no callbacks).
        ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
    };

    /// # Safety
    ///
    /// `dev` must be a registered device of `T` (the core calls ethtool
    /// operations only for registered devices, under RTNL).
    unsafe fn ctx<'a>(dev: *mut bindings::net_device) -> (&'a T, &'a Device) {
        // SAFETY: As the caller guarantees.
        unsafe { (net::owner::<T>(dev), Device::from_raw(dev)) }
    }

    /// # Safety
    ///
    /// Called by the core for a registered device.
    unsafe extern "C" fn get_drvinfo(
        dev: *mut bindings::net_device,
        info: *mut bindings::ethtool_drvinfo,
    ) {
        // SAFETY: Registered device; `info` is valid for writes.
        let ((owner, dev), info) = unsafe { (Self::ctx(dev), &mut *info) };
        owner.get_drvinfo(dev, &mut DrvInfo(info));
    }

    /// # Safety
    ///
    /// Called by the core for a registered device.
    unsafe extern "C" fn get_sset_count(
        dev: *mut bindings::net_device,
        sset: kernel::ffi::c_int,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: Registered device.
            let (owner, dev) = unsafe { Self::ctx(dev) };
            let sset = StringSet::from_raw(u32::try_from(sset).map_err(|_| EINVAL)?);
            let n = owner.get_sset_count(dev, sset)?;
            i32::try_from(n).map_err(|_| EINVAL)
        })
    }

    /// # Safety
    ///
    /// Called by the core for a registered device, with room in `data` for
    /// as many names as `get_sset_count` returned (under the same RTNL).
    unsafe extern "C" fn get_strings(dev: *mut bindings::net_device, sset: u32, data: *mut u8) {
        // SAFETY: Registered device.
        let (owner, d) = unsafe { Self::ctx(dev) };
        let sset = StringSet::from_raw(sset);
        let n = owner.get_sset_count(d, sset).unwrap_or(0) as usize;
        // SAFETY: The core allocated `n` names for this set (see above); it
        // zeroed the buffer.
        let buf = unsafe { core::slice::from_raw_parts_mut(data, n.saturating_mul(GSTRING_LEN)) };
        owner.get_strings(d, sset, &mut Strings { buf, next: 0 });
    }

    /// # Safety
    ///
    /// Called by the core for a registered device, with `stats->n_stats`
    /// values of room at `data`.
    unsafe extern "C" fn get_ethtool_stats(
        dev: *mut bindings::net_device,
        stats: *mut bindings::ethtool_stats,
        data: *mut u64,
    ) {
        // SAFETY: Registered device; `data` holds `n_stats` values.
        let ((owner, dev), data) = unsafe {
            (
                Self::ctx(dev),
                core::slice::from_raw_parts_mut(data, (*stats).n_stats as usize),
            )
        };
        owner.get_ethtool_stats(dev, data);
    }

    /// # Safety
    ///
    /// Called by the core for a registered device.
    unsafe extern "C" fn get_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) {
        // SAFETY: Registered device; `ch` is valid for writes.
        let ((owner, dev), ch) = unsafe { (Self::ctx(dev), &mut *ch) };
        let c = owner.get_channels(dev);
        ch.max_combined = c.max_combined;
        ch.combined_count = c.combined;
    }

    /// # Safety
    ///
    /// Called by the core, under RTNL, for a registered device.
    unsafe extern "C" fn set_channels(
        dev: *mut bindings::net_device,
        ch: *mut bindings::ethtool_channels,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: Registered device, RTNL held; `ch` is valid.
            let ((owner, dev), ch, rtnl) = unsafe { (Self::ctx(dev), &*ch, Rtnl::assume_held()) };
            if ch.rx_count != 0 || ch.tx_count != 0 || ch.other_count != 0 {
                return Err(EINVAL);
            }
            let max = owner.get_channels(dev).max_combined;
            owner.set_channels(
                dev,
                &rtnl,
                Channels {
                    max_combined: max,
                    combined: ch.combined_count,
                },
            )?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core for a registered device.
    unsafe extern "C" fn get_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) {
        // SAFETY: Registered device; `ring` is valid for writes.
        let ((owner, dev), ring) = unsafe { (Self::ctx(dev), &mut *ring) };
        let r = owner.get_ringparam(dev);
        ring.rx_max_pending = r.rx_max;
        ring.tx_max_pending = r.tx_max;
        ring.rx_pending = r.rx;
        ring.tx_pending = r.tx;
    }

    /// # Safety
    ///
    /// Called by the core, under RTNL, for a registered device.
    unsafe extern "C" fn set_ringparam(
        dev: *mut bindings::net_device,
        ring: *mut bindings::ethtool_ringparam,
        _kring: *mut bindings::kernel_ethtool_ringparam,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: Registered device, RTNL held; `ring` is valid.
            let ((owner, dev), ring, rtnl) =
                unsafe { (Self::ctx(dev), &*ring, Rtnl::assume_held()) };
            if ring.rx_mini_pending != 0 || ring.rx_jumbo_pending != 0 {
                return Err(EINVAL);
            }
            owner.set_ringparam(
                dev,
                &rtnl,
                RingParam {
                    rx_max: ring.rx_max_pending,
                    tx_max: ring.tx_max_pending,
                    rx: ring.rx_pending,
                    tx: ring.tx_pending,
                },
            )?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core for a registered device.
    unsafe extern "C" fn get_link_ksettings(
        dev: *mut bindings::net_device,
        ks: *mut bindings::ethtool_link_ksettings,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: Registered device; `ks` is valid for writes.
            let ((owner, dev), ks) = unsafe { (Self::ctx(dev), &mut *ks) };
            owner.get_link_ksettings(dev, &mut LinkSettings(ks))?;
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core for a registered device.
    unsafe extern "C" fn get_msglevel(dev: *mut bindings::net_device) -> u32 {
        // SAFETY: Registered device.
        let (owner, dev) = unsafe { Self::ctx(dev) };
        owner.get_msglevel(dev)
    }

    /// # Safety
    ///
    /// Called by the core for a registered device.
    unsafe extern "C" fn set_msglevel(dev: *mut bindings::net_device, level: u32) {
        // SAFETY: Registered device.
        let (owner, dev) = unsafe { Self::ctx(dev) };
        owner.set_msglevel(dev, level);
    }

    /// # Safety
    ///
    /// Called by the core for a registered device, under RTNL, with a valid
    /// `ec`.
    unsafe extern "C" fn get_coalesce(
        dev: *mut bindings::net_device,
        ec: *mut bindings::ethtool_coalesce,
        _kec: *mut bindings::kernel_ethtool_coalesce,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> kernel::ffi::c_int {
        // SAFETY: Registered device; `ec` is valid for writes.
        let ((owner, dev), ec) = unsafe { (Self::ctx(dev), &mut *ec) };
        Self::fill_coalesce(ec, owner.get_coalesce(dev));
        0
    }

    fn fill_coalesce(ec: &mut bindings::ethtool_coalesce, c: Coalesce) {
        ec.rx_coalesce_usecs = c.rx_usecs;
        ec.rx_max_coalesced_frames = c.rx_frames;
        ec.use_adaptive_rx_coalesce = u32::from(c.adaptive_rx);
    }

    /// # Safety
    ///
    /// Called by the core for a registered device, under RTNL, with a valid
    /// `ec`.
    unsafe extern "C" fn get_per_queue_coalesce(
        dev: *mut bindings::net_device,
        queue: u32,
        ec: *mut bindings::ethtool_coalesce,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: Registered device; `ec` is valid for writes.
            let ((owner, dev), ec) = unsafe { (Self::ctx(dev), &mut *ec) };
            Self::fill_coalesce(ec, owner.get_per_queue_coalesce(dev, queue)?);
            Ok(0)
        })
    }

    /// # Safety
    ///
    /// Called by the core for a registered device, under RTNL, with a valid
    /// `ec`.
    unsafe extern "C" fn set_coalesce(
        dev: *mut bindings::net_device,
        ec: *mut bindings::ethtool_coalesce,
        _kec: *mut bindings::kernel_ethtool_coalesce,
        _extack: *mut bindings::netlink_ext_ack,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: Registered device, RTNL held (callback contract);
            // `ec` is valid for reads.
            let ((owner, dev), ec, rtnl) = unsafe { (Self::ctx(dev), &*ec, Rtnl::assume_held()) };
            let c = Coalesce {
                rx_usecs: ec.rx_coalesce_usecs,
                rx_frames: ec.rx_max_coalesced_frames,
                adaptive_rx: ec.use_adaptive_rx_coalesce != 0,
            };
            owner.set_coalesce(dev, &rtnl, c)?;
            Ok(0)
        })
    }
}
