// SPDX-License-Identifier: GPL-2.0

//! debugfs directories of numeric attribute files: what C drivers build
//! with `DEFINE_DEBUGFS_ATTRIBUTE()`, the knobs tests read and write
//! (netdevsim style).
//!
//! A [`Dir`] is a tree under /sys/kernel/debug owned by one object
//! implementing [`Attribute`]; each file is a `u64` attribute of that
//! object, told apart by a key. Reads print the value in decimal, writes
//! take decimal or `0x` hex. Dropping the `Dir` removes the tree and waits
//! for running reads and writes; a file still open after that fails its
//! reads and writes (`EIO`) and closes normally: its operations are one
//! static table per module, and an open file pins the module.

use crate::klib::bindings;
use kernel::c_str;
use kernel::error::from_err_ptr;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// An object whose attributes are debugfs files.
pub trait Attribute: Send + Sync + 'static {
    /// Reads attribute `key`.
    fn get(&self, key: u32) -> Result<u64>;

    /// Writes attribute `key`.
    fn set(&self, _key: u32, _val: u64) -> Result {
        Err(EPERM)
    }
}

/// A directory of a [`Dir`]: its root or one of its subdirectories.
#[derive(Clone, Copy)]
pub struct Node(usize);

/// The accessors `simple_attr_open()` is given for a file: the head of
/// every [`Entry`], whatever its `T`.
#[repr(C)]
struct Accessors {
    get: unsafe extern "C" fn(*mut c_void, *mut u64) -> c_int,
    set: unsafe extern "C" fn(*mut c_void, u64) -> c_int,
}

/// What a file's `i_private` points to.
#[repr(C)]
struct Entry<T: Attribute> {
    /// `Dir::<T>::get` and `Dir::<T>::set`; first, for [`open`].
    ops: Accessors,
    owner: Arc<T>,
    key: u32,
}

/// A `file_operations` table that may be shared: it is never written.
#[repr(transparent)]
struct Fops(bindings::file_operations);

// SAFETY: The table is constant; the kernel only reads it.
unsafe impl Sync for Fops {}

// Only the address of `__this_module` is taken (its type is opaque to
// Rust), as the `module!` macro does for `THIS_MODULE`.
#[allow(improper_ctypes)]
extern "C" {
    /// This module (`THIS_MODULE`).
    static __this_module: kernel::types::Opaque<bindings::module>;
}

/// The operations of every attribute file of this module, as
/// `DEFINE_DEBUGFS_ATTRIBUTE()` makes them: static, because an open file
/// uses them until it is closed, which can be after its `Dir` is gone;
/// `owner` keeps the module loaded until then.
static FOPS: Fops = Fops(bindings::file_operations {
    // SAFETY: Only the address of this module's `struct module` is taken.
    owner: unsafe { __this_module.get() },
    open: Some(open),
    release: Some(bindings::simple_attr_release),
    read: Some(bindings::debugfs_attr_read),
    write: Some(bindings::debugfs_attr_write),
    // SAFETY: All other members are optional callbacks or plain integers,
    // for which zero is valid (none, or unset).
    ..unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
});

/// Opens an attribute file, as `DEFINE_DEBUGFS_ATTRIBUTE()`'s open does.
///
/// # Safety
///
/// Called by debugfs for a file created by [`Dir::file`], with the file
/// kept from removal during the call.
unsafe extern "C" fn open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `inode` is valid; its `i_private` is the file's `Entry<T>`
    // (whose head is `Accessors`), alive until the file is removed, which
    // waits for this call.
    let ops = unsafe { &*((*inode).i_private as *const Accessors) };
    // SAFETY: `inode` and `file` are valid; `get` and `set` take the
    // `Entry<T>` that `i_private` points to, which `simple_attr_open()`
    // passes back to them.
    unsafe {
        bindings::simple_attr_open(
            inode,
            file,
            Some(ops.get),
            Some(ops.set),
            c_str!("%llu\n").as_char_ptr(),
        )
    }
}

/// A debugfs tree of attribute files of a `T`; removed on drop.
///
/// # Invariants
///
/// `dirs[0]` is the root of a debugfs tree created by [`Dir::new`] and
/// every other element a directory inside it. Every file in the tree uses
/// [`FOPS`] and points to an element of `entries`. The boxed entries stay
/// at their addresses until the tree is removed.
pub struct Dir<T: Attribute> {
    dirs: KVec<*mut bindings::dentry>,
    owner: Arc<T>,
    entries: KVec<KBox<Entry<T>>>,
}

// SAFETY: The dentries are used only to create files and to remove the
// tree, which debugfs serialises; the entries are shared with the file
// operations, which only read them.
unsafe impl<T: Attribute> Send for Dir<T> {}
// SAFETY: See above; `&Dir` gives no access to them.
unsafe impl<T: Attribute> Sync for Dir<T> {}

impl<T: Attribute> Dir<T> {
    /// Creates /sys/kernel/debug/`name` for the attributes of `owner`.
    pub fn new(name: &CStr, owner: Arc<T>) -> Result<Self> {
        let mut dirs = KVec::with_capacity(1, GFP_KERNEL)?;
        // SAFETY: `name` is a valid string; a NULL parent is the debugfs root.
        let root = from_err_ptr(unsafe {
            bindings::debugfs_create_dir(name.as_char_ptr(), core::ptr::null_mut())
        })?;
        // Does not allocate: the capacity is reserved.
        dirs.push(root, GFP_KERNEL)?;
        // INVARIANT: `dirs[0]` is the new tree; it has no files yet.
        Ok(Self {
            dirs,
            owner,
            entries: KVec::new(),
        })
    }

    /// The root directory.
    pub fn root(&self) -> Node {
        Node(0)
    }

    fn dentry(&self, node: Node) -> Result<*mut bindings::dentry> {
        self.dirs.get(node.0).copied().ok_or(EINVAL)
    }

    /// Creates directory `name` in `parent`.
    pub fn subdir(&mut self, parent: Node, name: &CStr) -> Result<Node> {
        let parent = self.dentry(parent)?;
        self.dirs.reserve(1, GFP_KERNEL)?;
        // SAFETY: `parent` is a directory of this tree (type invariant).
        let d = from_err_ptr(unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), parent) })?;
        // Does not allocate: the capacity is reserved above.
        self.dirs.push(d, GFP_KERNEL)?;
        Ok(Node(self.dirs.len() - 1))
    }

    /// Creates file `name` in `parent` for attribute `key`; `writable`
    /// adds write permission for root.
    pub fn file(&mut self, parent: Node, name: &CStr, key: u32, writable: bool) -> Result {
        let parent = self.dentry(parent)?;
        let entry = KBox::new(
            Entry {
                ops: Accessors {
                    get: Self::get,
                    set: Self::set,
                },
                owner: self.owner.clone(),
                key,
            },
            GFP_KERNEL,
        )?;
        self.entries.reserve(1, GFP_KERNEL)?;
        let data = &*entry as *const Entry<T> as *mut c_void;
        let mode = if writable { 0o644 } else { 0o444 };
        // SAFETY: `parent` is a directory of this tree; `data` stays valid
        // until the tree is removed (type invariant: the entry is kept
        // below), the operations are static.
        let f = unsafe {
            bindings::debugfs_create_file_unsafe(name.as_char_ptr(), mode, parent, data, &FOPS.0)
        };
        from_err_ptr(f)?;
        // Does not allocate: the capacity is reserved above.
        self.entries.push(entry, GFP_KERNEL)?;
        Ok(())
    }

    /// # Safety
    ///
    /// Called by `debugfs_attr_read()`, with the file kept from removal,
    /// for a file of a `Dir<T>`; `val` is valid.
    unsafe extern "C" fn get(data: *mut c_void, val: *mut u64) -> c_int {
        // SAFETY: `data` is the file's `Entry<T>`, alive until the tree is
        // removed, which waits for this call.
        let entry = unsafe { &*(data as *const Entry<T>) };
        match entry.owner.get(entry.key) {
            Ok(v) => {
                // SAFETY: `val` is valid.
                unsafe { *val = v };
                0
            }
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// As `get`.
    unsafe extern "C" fn set(data: *mut c_void, val: u64) -> c_int {
        // SAFETY: As in `get`.
        let entry = unsafe { &*(data as *const Entry<T>) };
        match entry.owner.set(entry.key, val) {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        }
    }
}

impl<T: Attribute> Drop for Dir<T> {
    fn drop(&mut self) {
        if let Some(&root) = self.dirs.first() {
            // SAFETY: `root` is this tree (type invariant); removal waits for
            // running opens, reads and writes, and later ones fail. The
            // entries are freed after this.
            unsafe { bindings::debugfs_remove(root) };
        }
    }
}
