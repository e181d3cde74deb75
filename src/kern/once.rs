// SPDX-License-Identifier: GPL-2.0

//! A box set at most once and then read from any context, interrupt
//! handlers included (6.12's kernel crate has no `OnceLock`).

use core::marker::PhantomData;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;

/// A `KBox<T>` set at most once; freed on drop.
///
/// # Invariants
///
/// `ptr` is null or comes from `KBox::<T>::into_raw` and is owned by
/// this object; once non-null it never changes until drop.
pub struct OnceBox<T> {
    ptr: AtomicPtr<T>,
    _p: PhantomData<KBox<T>>,
}

// SAFETY: The box is handed over once, then only shared references to `T`
// are given out; `T` must be shareable and sendable.
unsafe impl<T: Send + Sync> Sync for OnceBox<T> {}
// SAFETY: See above.
unsafe impl<T: Send + Sync> Send for OnceBox<T> {}

impl<T> Default for OnceBox<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> OnceBox<T> {
    /// An empty box.
    pub const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(null_mut()),
            _p: PhantomData,
        }
    }

    /// Sets the contents; gives `value` back if already set.
    pub fn set(&self, value: KBox<T>) -> core::result::Result<&T, KBox<T>> {
        let p = KBox::into_raw(value);
        match self
            .ptr
            .compare_exchange(null_mut(), p, Ordering::AcqRel, Ordering::Acquire)
        {
            // SAFETY: `p` is now owned by `self` and stays until drop.
            Ok(_) => Ok(unsafe { &*p }),
            // SAFETY: `p` came from `into_raw` above and was not stored.
            Err(_) => Err(unsafe { KBox::from_raw(p) }),
        }
    }

    /// The contents, if set.
    pub fn get(&self) -> Option<&T> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: A non-null pointer is a live box owned by `self` until
        // drop (type invariant), which cannot run while `&self` is held.
        (!p.is_null()).then(|| unsafe { &*p })
    }
}

impl<T> Drop for OnceBox<T> {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            // SAFETY: `p` came from `into_raw` and is owned by `self`.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}
