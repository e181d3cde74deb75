// SPDX-License-Identifier: GPL-2.0

//! ethtool: driver info, per-queue counters, channels, ring sizes, link
//! settings.

use super::Nic;
use crate::klib::net::ethtool::{
    self, Channels, Coalesce, DrvInfo, LinkSettings, RingParam, StringSet, Strings,
};
use crate::klib::net::{Device, Rtnl};
use crate::queue::Moderation;
use crate::ring;
use crate::stats::{ErrorTotals, LinkStats, QueueStats, ERROR_NAMES, PER_QUEUE};
use kernel::c_str;
use kernel::prelude::*;

/// Largest `rx-usecs` `ethtool -C` accepts: 10 ms.
const MAX_RX_USECS: u32 = 10_000;

/// Largest ring `ethtool -G` accepts.
pub(crate) const MAX_ENTRIES: u32 = 4096;

/// Mb/s of one PCIe lane by generation (after line coding).
fn lane_mbps(gen: u32) -> Option<u32> {
    match gen {
        1 => Some(2000),
        2 => Some(4000),
        3 => Some(7877),
        4 => Some(15754),
        5 => Some(31508),
        _ => None,
    }
}

#[vtable]
impl ethtool::Ops for Nic {
    fn get_drvinfo(&self, _dev: &Device, info: &mut DrvInfo<'_>) {
        info.set_driver(c_str!("ntbnet"));
        info.set_version(c_str!("1.0"));
        info.set_bus_info(self.ntb.pci_name());
        // The protocol both hosts speak, once negotiated: what "firmware"
        // means for a link whose other end is a driver.
        if let Some((major, minor)) = self.link.lock().protocol() {
            info.set_fw_version(format_args!("ntbnet protocol {major}.{minor}"));
        }
    }

    fn get_msglevel(&self, _dev: &Device) -> u32 {
        self.msg.get()
    }

    fn set_msglevel(&self, _dev: &Device, level: u32) {
        self.msg.set(level);
    }

    /// `ethtool -c`: whether adaptive, and the fixed setting (used when
    /// `adaptive-rx` is off); the queues' settings are all alike.
    fn get_coalesce(&self, _dev: &Device) -> Coalesce {
        let (adaptive, m) = self
            .queues
            .first()
            .map_or((true, Moderation::OFF), |q| q.coalesce());
        Coalesce {
            rx_usecs: m.usecs,
            rx_frames: m.frames,
            adaptive_rx: adaptive,
        }
    }

    /// `ethtool -C`: `adaptive-rx on` (the default) lets DIM choose each
    /// queue's moderation; off, every queue uses `rx-usecs` and
    /// `rx-frames` (see `queue::Moderation`).
    fn set_coalesce(&self, _dev: &Device, _rtnl: &Rtnl, c: Coalesce) -> Result {
        if c.rx_usecs > MAX_RX_USECS || c.rx_frames > MAX_ENTRIES / 2 {
            return Err(EINVAL);
        }
        let m = Moderation {
            usecs: c.rx_usecs,
            frames: c.rx_frames,
        };
        for q in self.queues.iter() {
            q.set_coalesce(c.adaptive_rx, m);
        }
        Ok(())
    }

    /// What queue `queue` uses now (DIM's current level when adaptive).
    fn get_per_queue_coalesce(&self, _dev: &Device, queue: u32) -> Result<Coalesce> {
        let q = self.queues.get(queue as usize).ok_or(EINVAL)?;
        let (adaptive, _) = q.coalesce();
        let m = q.moderation_now();
        Ok(Coalesce {
            rx_usecs: m.usecs,
            rx_frames: m.frames,
            adaptive_rx: adaptive,
        })
    }

    fn get_sset_count(&self, dev: &Device, sset: StringSet) -> Result<u32> {
        match sset {
            StringSet::Stats => Ok(LinkStats::COUNT
                + ERROR_NAMES.len() as u32
                + dev.real_num_tx_queues() * PER_QUEUE),
            StringSet::Other => Err(ethtool::eopnotsupp()),
        }
    }

    fn get_strings(&self, dev: &Device, sset: StringSet, out: &mut Strings<'_>) {
        if sset != StringSet::Stats {
            return;
        }
        for name in Iterator::chain(LinkStats::names(), ERROR_NAMES) {
            out.push(format_args!("{name}"));
        }
        for q in 0..dev.real_num_tx_queues() {
            for name in QueueStats::names() {
                out.push(format_args!("q{q}_{name}"));
            }
        }
    }

    fn get_ethtool_stats(&self, dev: &Device, data: &mut [u64]) {
        // The error sums cover every queue, as `ip -s -s link` does; the
        // per-queue counters only the queues in use.
        let errors = ErrorTotals::of(self.queues.iter().map(|q| &q.stats));
        let queues = self.queues.iter().take(dev.real_num_tx_queues() as usize);
        let link = Iterator::chain(self.stats.values(), errors.values());
        let values = Iterator::chain(link, queues.flat_map(|q| q.stats.values()));
        for (d, v) in data.iter_mut().zip(values) {
            *d = v;
        }
    }

    fn get_channels(&self, _dev: &Device) -> Channels {
        let link = self.link.lock();
        Channels {
            max_combined: self.max_queues,
            combined: link.agreed().map_or(link.want_queues(), |a| a.queues),
        }
    }

    fn set_channels(&self, _dev: &Device, rtnl: &Rtnl, ch: Channels) -> Result {
        if ch.combined == 0 || ch.combined > self.max_queues {
            return Err(EINVAL);
        }
        let mut link = self.link.lock();
        let (entries, _) = link.entries();
        if link.reconfigure(self, rtnl, ch.combined, entries) {
            self.link_work.run_now();
        }
        Ok(())
    }

    fn get_ringparam(&self, _dev: &Device) -> RingParam {
        let (want, used) = self.link.lock().entries();
        let n = used.unwrap_or(want);
        RingParam {
            rx_max: MAX_ENTRIES,
            tx_max: MAX_ENTRIES,
            rx: n,
            tx: n,
        }
    }

    fn set_ringparam(&self, _dev: &Device, rtnl: &Rtnl, r: RingParam) -> Result {
        let mut link = self.link.lock();
        let (want, used) = link.entries();
        let cur = used.unwrap_or(want);
        // Both directions use one size: take whichever the user changed.
        let n = if r.rx != cur { r.rx } else { r.tx };
        if (r.rx != cur && r.tx != cur && r.rx != r.tx)
            || !n.is_power_of_two()
            || !(ring::MIN_ENTRIES..=MAX_ENTRIES).contains(&n)
        {
            return Err(EINVAL);
        }
        let queues = link.want_queues();
        if link.reconfigure(self, rtnl, queues, n) {
            self.link_work.run_now();
        }
        Ok(())
    }

    fn get_link_ksettings(&self, dev: &Device, ks: &mut LinkSettings<'_>) -> Result {
        let speed = if dev.carrier_ok() {
            self.ntb
                .link_speed()
                .and_then(|(gen, width)| lane_mbps(gen).map(|m| m * width))
        } else {
            None
        };
        ks.set(speed);
        Ok(())
    }
}
