// SPDX-License-Identifier: GPL-2.0

//! Objects that embed the C object serving them, and are found again from
//! it: `container_of`, once, for every such wrapper.
//!
//! A timer, a work item, a NAPI context, an `ntb_dev` or a `net_device`
//! registration calls back with a pointer to itself; its wrapper
//! ([`Timer<T>`](super::timer::Timer),
//! [`HrTimer<T>`](super::hrtimer::HrTimer),
//! [`DelayedWork<T>`](super::work::DelayedWork),
//! [`Napi<T>`](crate::klib::net::napi::Napi),
//! [`HwDevice<T>`](crate::klib::ntb::hw::HwDevice),
//! [`Registration<T>`](crate::klib::net::Registration)) lives in a field of
//! the `T` it serves, and requires `T: HasField<Self>` to reach that `T`.
//! This is upstream's `HasWork<T, ID>` with `impl_has_work!`, for any
//! field type: a type that needs two fields of one kind gives the wrapper
//! an `ID` parameter, as upstream's `Work<T, ID>` has, so that the field
//! types differ.

/// Types that embed a field of type `F`.
///
/// # Safety
///
/// `OFFSET` is the offset in `Self` of a field of type `F`: for any `Self`
/// at address `p`, an `F` lives at `p + OFFSET` for as long as the `Self`
/// does. Implement it with [`impl_has_field!`](crate::impl_has_field),
/// which takes the offset from the field and checks its type.
pub unsafe trait HasField<F>: Sized {
    /// The offset of the field in `Self`.
    const OFFSET: usize;

    /// The field.
    fn field(&self) -> &F {
        // SAFETY: An `F` lives at `OFFSET` in `self` (trait contract) for
        // as long as `self` does.
        unsafe {
            &*(self as *const Self)
                .cast::<u8>()
                .add(Self::OFFSET)
                .cast::<F>()
        }
    }

    /// The `Self` that embeds the field at `field` (`container_of`).
    ///
    /// # Safety
    ///
    /// `field` must point to the `F` field of a `Self` that is alive for
    /// `'a`.
    unsafe fn container_of<'a>(field: *const F) -> &'a Self {
        // SAFETY: The field lives at `OFFSET` in its `Self` (trait
        // contract), which the caller guarantees is alive for `'a`.
        unsafe { &*field.cast::<u8>().sub(Self::OFFSET).cast::<Self>() }
    }
}

/// Implements [`HasField`] for a type and one of its fields:
/// `impl_has_field!(Nic, ticker: Timer<Nic>)`.
#[macro_export]
macro_rules! impl_has_field {
    ($type:ty, $field:ident: $ftype:ty) => {
        // SAFETY: The offset is that of `$field`, whose type the pointer
        // below checks to be `$ftype` exactly (raw pointers do not coerce).
        unsafe impl $crate::klib::kern::field::HasField<$ftype> for $type {
            const OFFSET: usize = {
                let _check = |t: &$type| -> *const $ftype { ::core::ptr::addr_of!(t.$field) };
                ::core::mem::offset_of!($type, $field)
            };
        }
    };
}
