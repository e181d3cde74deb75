/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Microchip Switchtec PFX Gen4 NTB function: one partition of a two-
 * partition switch. Two QEMU processes, one VM each, are the two
 * partitions; they are joined by a stream socket (a chardev) and each
 * maps the other's RAM (a shared memory backend whose fd it receives over
 * the socket), so that a window onto plain RAM of the target VM is a
 * direct mapping and everything else is forwarded to the target's QEMU,
 * which performs the access as DMA from its NTB function.
 *
 * What is modelled, and how a window write reaches the peer:
 * Documentation/switchtec-model.md of the ntbnet project.
 */

#include "qemu/osdep.h"
#include "qemu/units.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "qemu/host-utils.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qom/object.h"
#include "hw/core/cpu.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "chardev/char-fe.h"
#include "sysemu/dma.h"
#include "sysemu/hostmem.h"
#include "migration/vmstate.h"
#include "switchtec_regs.h"

#define TYPE_SWITCHTEC_NTB "switchtec-ntb"
OBJECT_DECLARE_SIMPLE_TYPE(SwitchtecNtb, SWITCHTEC_NTB)

#define TYPE_SWITCHTEC_PEER_RAM "switchtec-ntb-peer-ram"
OBJECT_DECLARE_SIMPLE_TYPE(SwitchtecPeerRam, SWITCHTEC_PEER_RAM)

#define SWT_VENDOR_ID           0x11f8
#define SWT_DEVICE_ID           0x4000      /* PFX 100xG4 */
#define SWT_GAS_SIZE            (4 * MiB)
#define SWT_NR_LUT              32          /* lut_table_entries */
#define SWT_REQ_ID_TABLE_SIZE   32
#define SWT_NR_WIN              (2 + SWT_NR_LUT)    /* BAR2, BAR4, LUTs */
#define SWT_MRPC_ECHO           0x41
#define SWT_MRPC_ERR_UNSUPPORTED 0xffff
#define SWT_READ_TIMEOUT_MS     1000
#define SWT_MAX_LOGGED_FAULTS   10

/* The link between the two QEMUs: a header, then a fixed-size payload. */
#define SWT_PROTO_MAGIC         0x4e545357  /* "WSTN" */
#define SWT_PROTO_VERSION       1

enum {
    SWT_MSG_HELLO = 1,
    SWT_MSG_DOORBELL,
    SWT_MSG_MESSAGE,
    SWT_MSG_WINDOW,
    SWT_MSG_WRITE,
    SWT_MSG_READ,
    SWT_MSG_READ_REPLY,
    SWT_MSG_MAX,
};

typedef struct SwtHdr {
    uint32_t type;
    uint32_t len;
} SwtHdr;

typedef struct SwtHello {
    uint32_t magic;
    uint32_t version;
    uint32_t partition;
    uint32_t has_ram;       /* an fd of the sender's RAM comes along */
    uint64_t ram_size;
    uint64_t bar_size[2];
} SwtHello;

typedef struct SwtDoorbell {
    uint64_t bits;
} SwtDoorbell;

typedef struct SwtMessage {
    uint32_t idx;
    uint32_t val;
} SwtMessage;

/*
 * A window of the receiver's BAR onto the sender's memory, as the
 * sender configured it: at @base of BAR @bar, @size bytes onto DMA
 * address @addr of the sender; with @fast, that range is plain RAM of
 * the sender at @ram_off of the RAM it handed over in its hello.
 */
typedef struct SwtWindowMsg {
    uint8_t win;
    uint8_t bar;
    uint8_t enabled;
    uint8_t fast;
    uint32_t reserved;
    uint64_t base;
    uint64_t size;
    uint64_t addr;
    uint64_t ram_off;
} SwtWindowMsg;

typedef struct SwtWrite {
    uint64_t addr;
    uint32_t len;
    uint32_t reserved;
    uint64_t data;
} SwtWrite;

typedef struct SwtRead {
    uint64_t addr;
    uint32_t len;
    uint32_t tag;
} SwtRead;

typedef struct SwtReadReply {
    uint32_t tag;
    uint32_t ok;
    uint64_t data;
} SwtReadReply;

static const uint32_t swt_msg_len[SWT_MSG_MAX] = {
    [SWT_MSG_HELLO] = sizeof(SwtHello),
    [SWT_MSG_DOORBELL] = sizeof(SwtDoorbell),
    [SWT_MSG_MESSAGE] = sizeof(SwtMessage),
    [SWT_MSG_WINDOW] = sizeof(SwtWindowMsg),
    [SWT_MSG_WRITE] = sizeof(SwtWrite),
    [SWT_MSG_READ] = sizeof(SwtRead),
    [SWT_MSG_READ_REPLY] = sizeof(SwtReadReply),
};

#define SWT_MAX_PAYLOAD         40
#define SWT_RX_BUF              512

QEMU_BUILD_BUG_ON(sizeof(SwtHello) > SWT_MAX_PAYLOAD);
QEMU_BUILD_BUG_ON(sizeof(SwtWindowMsg) > SWT_MAX_PAYLOAD);

typedef struct SwtWindow {
    bool enabled;
    bool fast;
    uint8_t bar;
    uint64_t base;
    uint64_t size;
    uint64_t addr;
    uint64_t ram_off;
} SwtWindow;

/* The peer's RAM, mapped here; unmapped once no flat view uses it. */
struct SwitchtecPeerRam {
    Object parent_obj;
    MemoryRegion mr;
    void *ptr;
    uint64_t size;
};

typedef struct SwtBar {
    SwitchtecNtb *s;
    uint8_t bar;
    uint64_t size;
    MemoryRegion mr;        /* the BAR: a container */
    MemoryRegion fwd;       /* forwarded path, under the whole BAR */
} SwtBar;

struct SwitchtecNtb {
    PCIDevice parent_obj;

    /* properties */
    CharBackend chr;
    uint32_t partition;
    HostMemoryBackend *memdev;
    uint64_t bar_size[2];
    uint32_t vectors;

    MemoryRegion bar0;
    MemoryRegion gas_mr;
    uint8_t *gas;
    SwtBar bar[2];

    /*
     * Windows of this function's BARs onto the peer (installed), and the
     * windows each partition's NTB control block describes as this
     * host last committed it (for the peer's block: sent to the peer,
     * and sent again when the peer comes back).
     */
    SwtWindow win[SWT_NR_WIN];
    MemoryRegion win_ram[SWT_NR_WIN];
    bool win_ram_mapped[SWT_NR_WIN];
    SwtWindow cfg[2][SWT_NR_WIN];

    /* The link to the other partition's QEMU. */
    bool connected;
    bool peer_up;
    bool rx_dead;
    int rx_fd;
    uint8_t rx_buf[SWT_RX_BUF];
    uint32_t rx_len;
    SwitchtecPeerRam *peer_ram;

    /* One read through a forwarded window at a time. */
    QemuMutex rd_serial;
    QemuMutex rd_lock;
    QemuCond rd_cond;
    uint32_t rd_tag;
    bool rd_done;
    bool rd_ok;
    uint64_t rd_val;

    uint64_t faults;
};

static inline unsigned swt_peer(SwitchtecNtb *s)
{
    return 1 - s->partition;
}

#define GAS_CTRL(p)     (SWT_GAS_NTB_CTRL + (p) * SWT_CTRL_SIZE)
#define GAS_DBMSG(p)    (SWT_GAS_NTB_DBMSG + (p) * SWT_DBMSG_SIZE)
#define GAS_PART(p)     (SWT_GAS_PART_CFG + (p) * SWT_PART_SIZE)
#define GAS_PFF(i)      (SWT_GAS_PFF_CSR + (i) * SWT_PFF_SIZE)
#define CTRL(f)         offsetof(SwtNtbCtrlRegs, f)
#define DBMSG(f)        offsetof(SwtNtbDbmsgRegs, f)
#define PART(f)         offsetof(SwtPartCfgRegs, f)

static uint32_t gas_l(SwitchtecNtb *s, hwaddr off)
{
    return ldl_le_p(s->gas + off);
}

static void gas_setl(SwitchtecNtb *s, hwaddr off, uint32_t val)
{
    stl_le_p(s->gas + off, val);
}

static uint64_t gas_q(SwitchtecNtb *s, hwaddr off)
{
    return ldq_le_p(s->gas + off);
}

static void gas_setq(SwitchtecNtb *s, hwaddr off, uint64_t val)
{
    stq_le_p(s->gas + off, val);
}

/* ---- interrupts ---- */

static void swt_notify(SwitchtecNtb *s, unsigned vector)
{
    PCIDevice *pdev = PCI_DEVICE(s);

    if (vector < s->vectors && msix_enabled(pdev)) {
        msix_notify(pdev, vector);
    }
}

static void swt_event_irq(SwitchtecNtb *s)
{
    swt_notify(s, lduw_le_p(s->gas + GAS_PART(s->partition) +
                            PART(vep_vector_number)));
}

/* Doorbell bits (and the message bits 60..63) that are set and enabled. */
static void swt_fire_doorbells(SwitchtecNtb *s, uint64_t bits)
{
    hwaddr db = GAS_DBMSG(s->partition);
    uint64_t vectors = 0;
    int b;

    bits &= gas_q(s, db + DBMSG(idb_mask));
    for (b = 0; b < 64; b++) {
        if (bits & (1ull << b)) {
            vectors |= 1ull << (s->gas[db + DBMSG(idb_vec_map) + b] & 63);
        }
    }
    for (b = 0; b < 64; b++) {
        if (vectors & (1ull << b)) {
            swt_notify(s, b);
        }
    }
}

static void swt_pending_messages_fire(SwitchtecNtb *s, uint64_t enabled)
{
    hwaddr db = GAS_DBMSG(s->partition);
    int i;

    for (i = 0; i < 4; i++) {
        if ((enabled & (1ull << (60 + i))) &&
            (s->gas[db + DBMSG(imsg[i].status)] & 1)) {
            swt_fire_doorbells(s, 1ull << (60 + i));
        }
    }
}

/* A link state event on every PFF: the drivers re-check the link. */
static void swt_link_event(SwitchtecNtb *s)
{
    bool irq = false;
    int i;

    for (i = 0; i < 2; i++) {
        hwaddr off = GAS_PFF(i) + offsetof(SwtPffCsrRegs, link_state_hdr);
        uint32_t hdr = gas_l(s, off);
        uint32_t count = ((hdr >> 5) + 1) & 0xff;

        hdr = (hdr & ~(0xffu << 5)) | count << 5 | SWT_EVENT_OCCURRED;
        gas_setl(s, off, hdr);
        irq |= hdr & SWT_EVENT_EN_IRQ;
    }
    if (irq) {
        swt_event_irq(s);
    }
}

/* ---- the link to the peer's QEMU ---- */

static void swt_send(SwitchtecNtb *s, uint32_t type, const void *payload,
                     int *fd)
{
    uint8_t buf[sizeof(SwtHdr) + SWT_MAX_PAYLOAD];
    SwtHdr hdr = { .type = type, .len = swt_msg_len[type] };

    if (!s->connected) {
        return;
    }
    memcpy(buf, &hdr, sizeof(hdr));
    memcpy(buf + sizeof(hdr), payload, hdr.len);
    if (fd) {
        qemu_chr_fe_set_msgfds(&s->chr, fd, 1);
    }
    if (qemu_chr_fe_write_all(&s->chr, buf, sizeof(hdr) + hdr.len) < 0) {
        /* The chardev reports the close; the link goes down there. */
        return;
    }
}

static void swt_send_hello(SwitchtecNtb *s)
{
    SwtHello h = {
        .magic = SWT_PROTO_MAGIC,
        .version = SWT_PROTO_VERSION,
        .partition = s->partition,
        .bar_size = { s->bar_size[0], s->bar_size[1] },
    };
    int fd = -1;

    if (s->memdev) {
        MemoryRegion *mr = host_memory_backend_get_memory(s->memdev);

        fd = memory_region_get_fd(mr);
        h.ram_size = memory_region_size(mr);
        h.has_ram = fd >= 0;
    }
    swt_send(s, SWT_MSG_HELLO, &h, h.has_ram ? &fd : NULL);
}

/*
 * Where the target (this host) can take a window onto its DMA address
 * @addr directly: plain RAM of the shared backend, reached from this
 * function's bus-master address space without translation. A vIOMMU
 * that does not translate this device's DMA (the guest left DMA
 * remapping off, or passes the device through) keeps the fast path; the
 * vIOMMU's interrupt-remapping range is not RAM, so a window onto the MSI
 * range is always forwarded. A translated address space resolves to the
 * IOMMU region, not to RAM: forwarded too.
 */
static bool swt_resolve_ram(SwitchtecNtb *s, uint64_t addr, uint64_t size,
                            uint64_t *ram_off)
{
    AddressSpace *as = pci_device_iommu_address_space(PCI_DEVICE(s));
    MemoryRegionSection sec;
    bool ok;

    if (!s->memdev) {
        return false;
    }
    sec = memory_region_find(as->root, addr, size);
    if (!sec.mr) {
        return false;
    }
    ok = sec.mr == host_memory_backend_get_memory(s->memdev) &&
         sec.offset_within_address_space == addr &&
         int128_ge(sec.size, int128_make64(size));
    if (ok) {
        *ram_off = sec.offset_within_region;
    }
    memory_region_unref(sec.mr);
    return ok;
}

static void swt_send_window(SwitchtecNtb *s, unsigned w)
{
    SwtWindow *c = &s->cfg[swt_peer(s)][w];
    SwtWindowMsg m = {
        .win = w,
        .bar = c->bar,
        .enabled = c->enabled,
        .base = c->base,
        .size = c->size,
        .addr = c->addr,
    };

    if (c->enabled) {
        m.fast = swt_resolve_ram(s, c->addr, c->size, &m.ram_off);
    }
    if (s->peer_up) {
        swt_send(s, SWT_MSG_WINDOW, &m, NULL);
    }
}

/* ---- windows of this function's BARs ---- */

static void swt_unmap_window(SwitchtecNtb *s, unsigned w)
{
    if (s->win_ram_mapped[w]) {
        memory_region_del_subregion(&s->bar[s->win[w].bar == 4].mr,
                                    &s->win_ram[w]);
        object_unparent(OBJECT(&s->win_ram[w]));
        s->win_ram_mapped[w] = false;
    }
    s->win[w].enabled = false;
}

static void swt_install_window(SwitchtecNtb *s, unsigned w, const SwtWindow *c)
{
    SwtBar *bar = &s->bar[c->bar == 4];
    g_autofree char *name = NULL;

    swt_unmap_window(s, w);
    s->win[w] = *c;
    if (!c->enabled || !c->fast || !s->peer_ram) {
        return;
    }
    name = g_strdup_printf("switchtec-win%u", w);
    memory_region_init_alias(&s->win_ram[w], OBJECT(s), name,
                             &s->peer_ram->mr, c->ram_off, c->size);
    memory_region_add_subregion_overlap(&bar->mr, c->base, &s->win_ram[w], 1);
    s->win_ram_mapped[w] = true;
}

static bool swt_lookup(SwitchtecNtb *s, uint8_t bar, hwaddr off, unsigned size,
                       uint64_t *addr)
{
    unsigned w;

    for (w = 0; w < SWT_NR_WIN; w++) {
        SwtWindow *c = &s->win[w];

        if (c->enabled && c->bar == bar && off >= c->base &&
            off + size <= c->base + c->size) {
            *addr = c->addr + (off - c->base);
            return true;
        }
    }
    return false;
}

static uint64_t swt_bar_read(void *opaque, hwaddr off, unsigned size)
{
    SwtBar *bar = opaque;
    SwitchtecNtb *s = bar->s;
    uint64_t ones = size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
    uint64_t val = ones;
    SwtRead r = { .len = size };
    int64_t deadline;

    /*
     * A read waits for the peer's completion. Only a vCPU may wait (the
     * main loop must run to receive it), and it waits without the BQL.
     */
    if (!current_cpu || !s->peer_up ||
        !swt_lookup(s, bar->bar, off, size, &r.addr)) {
        return ones;
    }
    qemu_mutex_unlock_iothread();
    qemu_mutex_lock(&s->rd_serial);
    qemu_mutex_lock_iothread();
    /* The windows may have changed while the BQL was dropped. */
    if (!s->peer_up || !swt_lookup(s, bar->bar, off, size, &r.addr)) {
        qemu_mutex_unlock(&s->rd_serial);
        return ones;
    }
    qemu_mutex_lock(&s->rd_lock);
    r.tag = ++s->rd_tag;
    s->rd_done = false;
    qemu_mutex_unlock(&s->rd_lock);
    swt_send(s, SWT_MSG_READ, &r, NULL);
    qemu_mutex_unlock_iothread();

    deadline = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + SWT_READ_TIMEOUT_MS;
    qemu_mutex_lock(&s->rd_lock);
    while (!s->rd_done) {
        int64_t left = deadline - qemu_clock_get_ms(QEMU_CLOCK_REALTIME);

        if (left <= 0) {
            break;
        }
        qemu_cond_timedwait(&s->rd_cond, &s->rd_lock, left);
    }
    if (s->rd_done && s->rd_ok) {
        val = s->rd_val & ones;
    }
    qemu_mutex_unlock(&s->rd_lock);
    qemu_mutex_unlock(&s->rd_serial);
    qemu_mutex_lock_iothread();
    return val;
}

static void swt_bar_write(void *opaque, hwaddr off, uint64_t val,
                          unsigned size)
{
    SwtBar *bar = opaque;
    SwitchtecNtb *s = bar->s;
    SwtWrite wr = { .len = size, .data = val };

    /* No window, or no peer: the write goes nowhere, as on the switch. */
    if (s->peer_up && swt_lookup(s, bar->bar, off, size, &wr.addr)) {
        swt_send(s, SWT_MSG_WRITE, &wr, NULL);
    }
}

static const MemoryRegionOps swt_bar_ops = {
    .read = swt_bar_read,
    .write = swt_bar_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

/* ---- the peer comes and goes ---- */

static void swt_peer_ram_finalize(Object *obj)
{
    SwitchtecPeerRam *r = SWITCHTEC_PEER_RAM(obj);

    if (r->ptr) {
        munmap(r->ptr, r->size);
    }
}

static void swt_rd_abort(SwitchtecNtb *s)
{
    qemu_mutex_lock(&s->rd_lock);
    s->rd_done = true;
    s->rd_ok = false;
    qemu_cond_broadcast(&s->rd_cond);
    qemu_mutex_unlock(&s->rd_lock);
}

static void swt_peer_down(SwitchtecNtb *s)
{
    bool was_up = s->peer_up;
    unsigned w;

    s->peer_up = false;
    for (w = 0; w < SWT_NR_WIN; w++) {
        swt_unmap_window(s, w);
        s->cfg[s->partition][w].enabled = false;
    }
    if (s->peer_ram) {
        /* Unmapped by its finalizer, once no flat view holds it. */
        object_unref(OBJECT(s->peer_ram));
        s->peer_ram = NULL;
    }
    if (s->rx_fd >= 0) {
        close(s->rx_fd);
        s->rx_fd = -1;
    }
    swt_rd_abort(s);
    if (was_up) {
        swt_link_event(s);
    }
}

static void swt_drop_link(SwitchtecNtb *s, const char *why)
{
    error_report("switchtec-ntb: partition %u: %s; dropping the connection "
                 "to the peer", s->partition, why);
    s->rx_dead = true;
    swt_peer_down(s);
    qemu_chr_fe_disconnect(&s->chr);
}

static bool swt_map_peer_ram(SwitchtecNtb *s, uint64_t size)
{
    SwitchtecPeerRam *r;
    struct stat st;
    void *ptr;

    if (s->rx_fd < 0 || fstat(s->rx_fd, &st) < 0 || st.st_size < size ||
        size == 0) {
        return false;
    }
    ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->rx_fd, 0);
    close(s->rx_fd);
    s->rx_fd = -1;
    if (ptr == MAP_FAILED) {
        return false;
    }
    r = SWITCHTEC_PEER_RAM(object_new(TYPE_SWITCHTEC_PEER_RAM));
    r->ptr = ptr;
    r->size = size;
    memory_region_init_ram_ptr(&r->mr, OBJECT(r), "switchtec-peer-ram", size,
                               ptr);
    s->peer_ram = r;
    return true;
}

static void swt_rx_hello(SwitchtecNtb *s, const SwtHello *h)
{
    unsigned w;

    if (h->magic != SWT_PROTO_MAGIC || h->version != SWT_PROTO_VERSION) {
        swt_drop_link(s, "bad hello (magic or version)");
        return;
    }
    if (h->partition != swt_peer(s)) {
        swt_drop_link(s, "the peer claims the wrong partition");
        return;
    }
    if (h->bar_size[0] != s->bar_size[0] || h->bar_size[1] != s->bar_size[1]) {
        swt_drop_link(s, "the peer's BAR sizes differ from ours");
        return;
    }
    if (s->peer_up) {
        swt_drop_link(s, "a second hello");
        return;
    }
    if (h->has_ram && !swt_map_peer_ram(s, h->ram_size)) {
        warn_report("switchtec-ntb: partition %u: cannot map the peer's RAM; "
                    "all windows take the forwarded path", s->partition);
    }
    s->peer_up = true;
    /* The switch kept what this host set up for the peer's BARs. */
    for (w = 0; w < SWT_NR_WIN; w++) {
        if (s->cfg[swt_peer(s)][w].enabled) {
            swt_send_window(s, w);
        }
    }
    swt_link_event(s);
}

static void swt_rx_message(SwitchtecNtb *s, const SwtMessage *m)
{
    hwaddr db = GAS_DBMSG(s->partition);
    uint32_t map = gas_l(s, db + DBMSG(msg_map));
    unsigned j, want = (m->idx & 3) | swt_peer(s) << 2;

    if (m->idx >= 4) {
        swt_drop_link(s, "message index out of range");
        return;
    }
    /* msg_map says which outbound message lands in which inbound one. */
    for (j = 0; j < 4; j++) {
        if (((map >> (j * 8)) & 0xff) == want) {
            break;
        }
    }
    if (j == 4) {
        j = m->idx;
    }
    gas_setl(s, db + DBMSG(imsg[j].msg), m->val);
    s->gas[db + DBMSG(imsg[j].status)] = 1;
    s->gas[db + DBMSG(imsg[j].src)] = swt_peer(s);
    swt_fire_doorbells(s, 1ull << (60 + j));
}

static void swt_rx_window(SwitchtecNtb *s, const SwtWindowMsg *m)
{
    SwtWindow c = {
        .enabled = m->enabled,
        .fast = m->fast,
        .bar = m->bar,
        .base = m->base,
        .size = m->size,
        .addr = m->addr,
        .ram_off = m->ram_off,
    };
    uint64_t bar_size;

    if (m->win >= SWT_NR_WIN || m->enabled > 1 || m->fast > 1 ||
        (m->enabled && m->bar != 2 && m->bar != 4)) {
        swt_drop_link(s, "malformed window");
        return;
    }
    bar_size = s->bar_size[m->bar == 4];
    if (m->enabled && (m->size < 4 * KiB || m->base > bar_size ||
                       m->size > bar_size - m->base)) {
        swt_drop_link(s, "window outside the BAR");
        return;
    }
    if (m->enabled && m->fast &&
        (!s->peer_ram || m->ram_off > s->peer_ram->size ||
         m->size > s->peer_ram->size - m->ram_off)) {
        swt_drop_link(s, "window outside the peer's RAM");
        return;
    }
    swt_install_window(s, m->win, &c);
}

/* An access of the peer through one of its windows onto this host. */
static bool swt_access_allowed(SwitchtecNtb *s, uint64_t addr, uint32_t len)
{
    unsigned w;

    if (len != 1 && len != 2 && len != 4 && len != 8) {
        return false;
    }
    for (w = 0; w < SWT_NR_WIN; w++) {
        SwtWindow *c = &s->cfg[swt_peer(s)][w];

        if (c->enabled && addr >= c->addr && addr + len <= c->addr + c->size &&
            addr + len > addr) {
            return true;
        }
    }
    return false;
}

static void swt_fault(SwitchtecNtb *s, const char *what, uint64_t addr,
                      uint32_t len)
{
    if (s->faults++ < SWT_MAX_LOGGED_FAULTS) {
        warn_report("switchtec-ntb: partition %u: %s of %u bytes at 0x%" PRIx64
                    " from the peer failed%s", s->partition, what, len, addr,
                    s->faults == SWT_MAX_LOGGED_FAULTS ? " (no more reports)"
                                                       : "");
    }
}

static MemTxAttrs swt_dma_attrs(SwitchtecNtb *s)
{
    MemTxAttrs attrs = { .requester_id = pci_requester_id(PCI_DEVICE(s)) };

    return attrs;
}

static void swt_rx_write(SwitchtecNtb *s, const SwtWrite *wr)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint8_t buf[8];

    stq_le_p(buf, wr->data);
    if (!swt_access_allowed(s, wr->addr, wr->len) ||
        dma_memory_write(pci_get_address_space(pdev), wr->addr, buf, wr->len,
                         swt_dma_attrs(s)) != MEMTX_OK) {
        swt_fault(s, "write", wr->addr, wr->len);
    }
}

static void swt_rx_read(SwitchtecNtb *s, const SwtRead *r)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    SwtReadReply rep = { .tag = r->tag };
    uint8_t buf[8] = { 0 };

    if (swt_access_allowed(s, r->addr, r->len) &&
        dma_memory_read(pci_get_address_space(pdev), r->addr, buf, r->len,
                        swt_dma_attrs(s)) == MEMTX_OK) {
        rep.ok = 1;
        rep.data = ldq_le_p(buf);
    } else {
        swt_fault(s, "read", r->addr, r->len);
    }
    swt_send(s, SWT_MSG_READ_REPLY, &rep, NULL);
}

static void swt_rx_read_reply(SwitchtecNtb *s, const SwtReadReply *rep)
{
    qemu_mutex_lock(&s->rd_lock);
    if (rep->tag == s->rd_tag && !s->rd_done) {
        s->rd_val = rep->data;
        s->rd_ok = rep->ok;
        s->rd_done = true;
        qemu_cond_broadcast(&s->rd_cond);
    }
    qemu_mutex_unlock(&s->rd_lock);
}

static void swt_rx_one(SwitchtecNtb *s, uint32_t type, const void *p)
{
    if (type != SWT_MSG_HELLO && !s->peer_up) {
        swt_drop_link(s, "a message before the hello");
        return;
    }
    switch (type) {
    case SWT_MSG_HELLO:
        swt_rx_hello(s, p);
        break;
    case SWT_MSG_DOORBELL: {
        const SwtDoorbell *d = p;
        hwaddr idb = GAS_DBMSG(s->partition) + DBMSG(idb);

        gas_setq(s, idb, gas_q(s, idb) | d->bits);
        swt_fire_doorbells(s, d->bits);
        break;
    }
    case SWT_MSG_MESSAGE:
        swt_rx_message(s, p);
        break;
    case SWT_MSG_WINDOW:
        swt_rx_window(s, p);
        break;
    case SWT_MSG_WRITE:
        swt_rx_write(s, p);
        break;
    case SWT_MSG_READ:
        swt_rx_read(s, p);
        break;
    case SWT_MSG_READ_REPLY:
        swt_rx_read_reply(s, p);
        break;
    }
}

static int swt_chr_can_receive(void *opaque)
{
    SwitchtecNtb *s = opaque;

    return SWT_RX_BUF - s->rx_len;
}

static void swt_chr_receive(void *opaque, const uint8_t *buf, int size)
{
    SwitchtecNtb *s = opaque;
    int fd = qemu_chr_fe_get_msgfd(&s->chr);
    uint32_t done = 0;

    if (fd >= 0) {
        if (s->rx_fd >= 0) {
            close(s->rx_fd);
        }
        s->rx_fd = fd;
    }
    if (s->rx_dead) {
        return;
    }
    size = MIN(size, SWT_RX_BUF - s->rx_len);
    memcpy(s->rx_buf + s->rx_len, buf, size);
    s->rx_len += size;

    while (s->rx_len - done >= sizeof(SwtHdr)) {
        SwtHdr hdr;
        uint64_t payload[SWT_MAX_PAYLOAD / 8];

        memcpy(&hdr, s->rx_buf + done, sizeof(hdr));
        if (hdr.type == 0 || hdr.type >= SWT_MSG_MAX ||
            hdr.len != swt_msg_len[hdr.type]) {
            char why[64];

            snprintf(why, sizeof(why), "malformed message (type %u, %u bytes)",
                     hdr.type, hdr.len);
            swt_drop_link(s, why);
            s->rx_len = 0;
            return;
        }
        if (s->rx_len - done < sizeof(hdr) + hdr.len) {
            break;
        }
        memcpy(payload, s->rx_buf + done + sizeof(hdr), hdr.len);
        done += sizeof(hdr) + hdr.len;
        swt_rx_one(s, hdr.type, payload);
        if (s->rx_dead) {
            s->rx_len = 0;
            return;
        }
    }
    memmove(s->rx_buf, s->rx_buf + done, s->rx_len - done);
    s->rx_len -= done;
}

static void swt_chr_event(void *opaque, QEMUChrEvent event)
{
    SwitchtecNtb *s = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        s->connected = true;
        s->rx_dead = false;
        s->rx_len = 0;
        swt_send_hello(s);
        break;
    case CHR_EVENT_CLOSED:
        s->connected = false;
        swt_peer_down(s);
        break;
    default:
        break;
    }
}

/* ---- NTB control blocks: the partition_op state machine ---- */

/*
 * The windows partition @p's control block describes, and the errors
 * the switch reports for it: every BAR and LUT entry must be consistent
 * and translate into the other partition.
 */
static void swt_ctrl_windows(SwitchtecNtb *s, unsigned p, SwtWindow *win,
                             uint32_t *bar_err, uint32_t *lut_err)
{
    hwaddr ctrl = GAS_CTRL(p);
    unsigned target = 1 - p, k, i, nlut = 0;
    uint64_t lut_size = 0;
    int lut_bar = -1;

    memset(win, 0, sizeof(SwtWindow) * SWT_NR_WIN);
    *bar_err = *lut_err = 0;
    for (k = 0; k < 2; k++) {
        unsigned bar = 2 + 2 * k;
        uint64_t bsize = s->bar_size[k];
        uint32_t ctl = gas_l(s, ctrl + CTRL(bar_entry[bar].ctl));
        uint32_t ws = gas_l(s, ctrl + CTRL(bar_entry[bar].win_size));
        uint32_t ext = gas_l(s, ctrl + CTRL(bar_ext_entry[bar].win_size));
        uint64_t xlate = gas_q(s, ctrl + CTRL(bar_entry[bar].xlate_addr));
        uint64_t lut_area = 0;

        if (ctl & SWT_BAR_LUT_WIN_EN) {
            unsigned shift = (ctl >> 8) & 0x3f;
            unsigned n = ((ctl >> 14) & 0x1ff) + 1;

            if (lut_bar >= 0 || shift < 12 || n > SWT_NR_LUT ||
                shift >= 40 || ((uint64_t)n << shift) > bsize) {
                *bar_err |= 1u << bar;
            } else {
                lut_bar = bar;
                lut_size = 1ull << shift;
                nlut = n;
                lut_area = (uint64_t)n << shift;
            }
        }
        if (ctl & SWT_BAR_DIR_WIN_EN) {
            uint64_t size = (ws & 0xfffff000) | (uint64_t)ext << 32;
            unsigned pos = ws & 0xfff;
            uint64_t addr = xlate & ~0xfffull;

            if (pos < 12 || pos > 63 || (size >> pos) != 1 ||
                (addr & ((1ull << pos) - 1)) || (xlate & 0xfff) != target ||
                size > bsize - lut_area) {
                *bar_err |= 1u << bar;
            } else {
                win[k] = (SwtWindow) {
                    .enabled = true, .bar = bar, .base = lut_area,
                    .size = size, .addr = addr,
                };
            }
        }
    }
    for (i = 0; i < nlut; i++) {
        uint64_t e = gas_q(s, ctrl + CTRL(lut_entry[i]));
        uint64_t addr = e & ~0xfffull;

        if (!(e & SWT_LUT_EN)) {
            continue;
        }
        if (((e >> 1) & 0x3f) != target || (addr & (lut_size - 1))) {
            *lut_err |= 1u << i;
            continue;
        }
        win[2 + i] = (SwtWindow) {
            .enabled = true, .bar = lut_bar, .base = i * lut_size,
            .size = lut_size, .addr = addr,
        };
    }
}

static bool swt_window_equal(const SwtWindow *a, const SwtWindow *b)
{
    if (a->enabled != b->enabled) {
        return false;
    }
    return !a->enabled || (a->bar == b->bar && a->base == b->base &&
                           a->size == b->size && a->addr == b->addr);
}

static void swt_ctrl_commit(SwitchtecNtb *s, unsigned p)
{
    hwaddr ctrl = GAS_CTRL(p);
    SwtWindow win[SWT_NR_WIN];
    uint32_t bar_err, lut_err;
    unsigned w;

    swt_ctrl_windows(s, p, win, &bar_err, &lut_err);
    gas_setl(s, ctrl + CTRL(bar_error), bar_err);
    gas_setl(s, ctrl + CTRL(lut_error), lut_err);
    gas_setl(s, ctrl + CTRL(partition_status),
             bar_err || lut_err ? SWT_PART_STATUS_LOCKED
                                : SWT_PART_STATUS_NORMAL);
    for (w = 0; w < SWT_NR_WIN; w++) {
        if (swt_window_equal(&s->cfg[p][w], &win[w])) {
            continue;
        }
        s->cfg[p][w] = win[w];
        if (p == swt_peer(s)) {
            /* The peer's BAR onto this host: the peer maps or forwards. */
            swt_send_window(s, w);
        } else if (s->peer_up) {
            /* This host's BAR onto the peer: forwarded, the peer checks. */
            swt_install_window(s, w, &win[w]);
        }
    }
}

static void swt_part_op(SwitchtecNtb *s, unsigned p, uint32_t op)
{
    hwaddr ctrl = GAS_CTRL(p);

    switch (op) {
    case SWT_PART_OP_LOCK:
        gas_setl(s, ctrl + CTRL(partition_status), SWT_PART_STATUS_LOCKED);
        gas_setl(s, ctrl + CTRL(bar_error), 0);
        gas_setl(s, ctrl + CTRL(lut_error), 0);
        gas_setl(s, ctrl + CTRL(req_id_error), 0);
        break;
    case SWT_PART_OP_CFG:
        swt_ctrl_commit(s, p);
        break;
    case SWT_PART_OP_RESET:
        gas_setl(s, ctrl + CTRL(partition_status), SWT_PART_STATUS_NORMAL);
        break;
    default:
        break;
    }
}

static void swt_ctrl_write(SwitchtecNtb *s, unsigned p, hwaddr off,
                           uint64_t val, uint64_t mask)
{
    hwaddr ctrl = GAS_CTRL(p);
    uint64_t old = gas_q(s, ctrl + off);
    uint64_t v = (old & ~mask) | val;
    int i;

    if (off == CTRL(partition_status)) {
        if (mask >> 32) {
            gas_setl(s, ctrl + CTRL(partition_op), v >> 32);
            swt_part_op(s, p, v >> 32);
        }
    } else if (off == CTRL(partition_ctrl)) {
        gas_setq(s, ctrl + off, v);
    } else if (off >= CTRL(bar_entry) && off < CTRL(reserved2)) {
        if (off < CTRL(bar_ext_entry) && !((off - CTRL(bar_entry)) & 8)) {
            /* ctl: VALID says whether the BAR exists; it is the switch's. */
            v = (v & ~(uint64_t)SWT_BAR_VALID) | (old & SWT_BAR_VALID);
        }
        gas_setq(s, ctrl + off, v);
    } else if (off >= CTRL(req_id_table) && off < CTRL(reserved3)) {
        /* The switch assigns each requester ID a proxy ID (its devfn). */
        for (i = 0; i < 2; i++) {
            unsigned idx = (off - CTRL(req_id_table)) / 4 + i;
            uint32_t rid = v >> (32 * i);

            if ((mask >> (32 * i)) & 0xffffffff) {
                rid = (rid & 0xffff0000) | (idx & 0xff) << 1 |
                      (rid & SWT_REQ_ID_EN);
                gas_setl(s, ctrl + off + 4 * i, rid);
            }
        }
    } else if (off >= CTRL(lut_entry)) {
        gas_setq(s, ctrl + off, v);
    }
}

/* ---- doorbells and messages ---- */

static void swt_dbmsg_write(SwitchtecNtb *s, hwaddr off, uint64_t val,
                            uint64_t mask)
{
    hwaddr db = GAS_DBMSG(s->partition);
    uint64_t old = gas_q(s, db + off);
    uint64_t v = (old & ~mask) | val;

    if (off == DBMSG(odb)) {
        SwtDoorbell d = { .bits = val };

        if (d.bits && s->peer_up) {
            swt_send(s, SWT_MSG_DOORBELL, &d, NULL);
        }
    } else if (off == DBMSG(odb_mask)) {
        gas_setq(s, db + off, v);
    } else if (off == DBMSG(idb)) {
        gas_setq(s, db + off, old & ~val);
    } else if (off == DBMSG(idb_mask)) {
        uint64_t enabled = v & ~old;

        gas_setq(s, db + off, v);
        swt_fire_doorbells(s, enabled & gas_q(s, db + DBMSG(idb)));
        swt_pending_messages_fire(s, enabled);
    } else if (off >= DBMSG(idb_vec_map) && off < DBMSG(omsg)) {
        /* idb_vec_map, msg_map */
        gas_setq(s, db + off, v);
    } else if (off >= DBMSG(omsg) && off < DBMSG(imsg)) {
        unsigned i = (off - DBMSG(omsg)) / 8;
        SwtMessage m = { .idx = i, .val = v };

        gas_setq(s, db + off, v);
        if ((mask & 0xffffffff) && s->peer_up) {
            swt_send(s, SWT_MSG_MESSAGE, &m, NULL);
        }
    } else if (off >= DBMSG(imsg) && off < DBMSG(reserved3)) {
        /* msg and src are the switch's; status is write-1-to-clear. */
        uint8_t status = old >> 32;

        if ((val >> 32) & 1) {
            status &= ~1;
        }
        v = (old & ~(0xffull << 40)) | (v & (0xffull << 40));
        v = (v & ~(0xffull << 32)) | (uint64_t)status << 32;
        gas_setq(s, db + off, v);
    }
}

/* ---- MRPC ---- */

static void swt_mrpc_cmd(SwitchtecNtb *s, uint32_t cmd)
{
    hwaddr hdr = GAS_PART(s->partition) + PART(mrpc_comp_hdr);
    uint32_t ret = 0, h;

    switch (cmd & 0xffff) {
    case SWT_MRPC_ECHO: {
        uint32_t in = ldl_le_p(s->gas + offsetof(SwtMrpcRegs, input_data));

        stl_le_p(s->gas + offsetof(SwtMrpcRegs, output_data), ~in);
        break;
    }
    default:
        ret = SWT_MRPC_ERR_UNSUPPORTED;
        break;
    }
    gas_setl(s, offsetof(SwtMrpcRegs, ret_value), ret);
    gas_setl(s, offsetof(SwtMrpcRegs, status), SWT_MRPC_STATUS_DONE);
    h = gas_l(s, hdr) | SWT_EVENT_OCCURRED;
    gas_setl(s, hdr, h);
    if (h & SWT_EVENT_EN_IRQ) {
        swt_event_irq(s);
    }
}

/* ---- the GAS ---- */

static uint64_t swt_gas_read(void *opaque, hwaddr addr, unsigned size)
{
    SwitchtecNtb *s = opaque;
    uint64_t v = gas_q(s, addr & ~7ull) >> ((addr & 7) * 8);

    return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

/* An event header: OCCURRED is write-1-to-clear, the enables are kept. */
static void swt_event_hdr_write(SwitchtecNtb *s, hwaddr q, uint64_t val,
                                uint64_t mask)
{
    int i;

    for (i = 0; i < 2; i++) {
        uint32_t m = mask >> (32 * i), w = val >> (32 * i);
        uint32_t hdr;

        if (!m) {
            continue;
        }
        hdr = gas_l(s, q + 4 * i);
        if (w & SWT_EVENT_OCCURRED) {
            hdr &= ~SWT_EVENT_OCCURRED;
        }
        hdr = (hdr & ~0x1eu) | (w & 0x1e);
        gas_setl(s, q + 4 * i, hdr);
    }
}

static bool swt_is_part_hdr(hwaddr off)
{
    return off == PART(part_reset_hdr) || off == PART(mrpc_comp_hdr) ||
           off == PART(mrpc_comp_async_hdr) || off == PART(dyn_binding_hdr) ||
           off == PART(intercomm_notify_hdr);
}

static void swt_gas_write(void *opaque, hwaddr addr, uint64_t data,
                          unsigned size)
{
    SwitchtecNtb *s = opaque;
    unsigned shift = (addr & 7) * 8;
    hwaddr q = addr & ~7ull;
    uint64_t mask = (size == 8 ? ~0ull : (1ull << (size * 8)) - 1) << shift;
    uint64_t val = (data << shift) & mask;
    hwaddr part = GAS_PART(s->partition);
    hwaddr mrpc_cmd = offsetof(SwtMrpcRegs, cmd);

    if (q < offsetof(SwtMrpcRegs, output_data)) {
        gas_setq(s, q, (gas_q(s, q) & ~mask) | val);
    } else if (q == mrpc_cmd) {
        if (mask & 0xffffffff) {
            gas_setl(s, mrpc_cmd, val);
            swt_mrpc_cmd(s, val);
        }
    } else if (q == offsetof(SwtMrpcRegs, ret_value)) {
        /* dma_en: the model has no DMA MRPC (dma_ver 0); kept as written */
        if (mask >> 32) {
            gas_setl(s, q + 4, val >> 32);
        }
    } else if (q == offsetof(SwtMrpcRegs, dma_addr)) {
        gas_setq(s, q, (gas_q(s, q) & ~mask) | val);
    } else if (q == offsetof(SwtMrpcRegs, dma_vector)) {
        /* dma_vector; dma_ver is the switch's */
        mask &= 0xffffffff;
        gas_setq(s, q, (gas_q(s, q) & ~mask) | (val & mask));
    } else if (q >= part && q < part + SWT_PART_SIZE) {
        /* The 32-bit headers sit at offsets that are 4 mod 8. */
        if (swt_is_part_hdr(q - part + 4) && (mask >> 32)) {
            swt_event_hdr_write(s, q, val & ~0xffffffffull,
                                mask & ~0xffffffffull);
        }
        if (swt_is_part_hdr(q - part) && (mask & 0xffffffff)) {
            swt_event_hdr_write(s, q, val & 0xffffffff, mask & 0xffffffff);
        }
    } else if (q >= GAS_CTRL(0) && q < GAS_CTRL(2)) {
        unsigned p = (q - GAS_CTRL(0)) / SWT_CTRL_SIZE;

        swt_ctrl_write(s, p, q - GAS_CTRL(p), val, mask);
    } else if (q >= GAS_DBMSG(s->partition) &&
               q < GAS_DBMSG(s->partition) + SWT_DBMSG_SIZE) {
        swt_dbmsg_write(s, q - GAS_DBMSG(s->partition), val, mask);
    } else if (q >= GAS_PFF(0) && q < GAS_PFF(2)) {
        hwaddr off = (q - SWT_GAS_PFF_CSR) % SWT_PFF_SIZE;

        if (off == offsetof(SwtPffCsrRegs, link_state_hdr)) {
            swt_event_hdr_write(s, q, val & 0xffffffff, mask & 0xffffffff);
        }
    }
    /* Everything else is read-only or not modelled: the write is dropped. */
}

static const MemoryRegionOps swt_gas_ops = {
    .read = swt_gas_read,
    .write = swt_gas_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 8 },
};

static void swt_strpad(char *dst, const char *src, size_t n)
{
    memset(dst, ' ', n);
    memcpy(dst, src, MIN(strlen(src), n));
}

static void swt_gas_init(SwitchtecNtb *s)
{
    SwtSysInfoRegs *si = (SwtSysInfoRegs *)(s->gas + SWT_GAS_SYS_INFO);
    SwtNtbInfoRegs *ni = (SwtNtbInfoRegs *)(s->gas + SWT_GAS_NTB);
    unsigned p, i;

    memset(s->gas, 0, SWT_GAS_SIZE);

    stl_le_p(&si->device_id, SWT_DEVICE_ID);
    stl_le_p(&si->device_version, 0x00000001);
    stl_le_p(&si->firmware_version, 0x04700000);
    stw_le_p(&si->gas_layout_ver, 1);
    stl_le_p(&si->partition_id, s->partition);
    stw_le_p(&si->bl2_running, 0x04);   /* BL2_0 */
    stw_le_p(&si->cfg_running, 0x06);   /* CFG0 */
    stw_le_p(&si->img_running, 0x08);   /* IMG0 */
    stw_le_p(&si->key_running, 0x02);   /* KEY0 */
    stw_le_p(&si->p2p_vendor_id, SWT_VENDOR_ID);
    stw_le_p(&si->p2p_device_id, SWT_DEVICE_ID);
    swt_strpad(si->vendor_id, "QEMU", sizeof(si->vendor_id));
    swt_strpad(si->product_id, "PFX 100XG4 MODEL", sizeof(si->product_id));
    swt_strpad(si->product_revision, "01", sizeof(si->product_revision));

    ni->partition_count = 2;
    ni->partition_id = s->partition;
    stq_le_p(&ni->ep_map, 0x3);
    for (p = 0; p < 2; p++) {
        SwtPartCfgRegs *pc = (SwtPartCfgRegs *)(s->gas + GAS_PART(p));
        SwtNtbCtrlRegs *c = (SwtNtbCtrlRegs *)(s->gas + GAS_CTRL(p));
        SwtPffCsrRegs *pff = (SwtPffCsrRegs *)(s->gas + GAS_PFF(p));

        stl_le_p(&ni->ntp_info[p].target_part_low, 1u << (1 - p));

        stl_le_p(&pc->status, 1);
        stl_le_p(&pc->usp_pff_inst_id, 0xff);
        stl_le_p(&pc->vep_pff_inst_id, p);
        for (i = 0; i < ARRAY_SIZE(pc->dsp_pff_inst_id); i++) {
            stl_le_p(&pc->dsp_pff_inst_id[i], 0xff);
        }
        stw_le_p(&pc->vep_vector_number, 0);

        stl_le_p(&c->partition_status, SWT_PART_STATUS_NORMAL);
        stw_le_p(&c->lut_table_entries, SWT_NR_LUT);
        stw_le_p(&c->req_id_table_size, SWT_REQ_ID_TABLE_SIZE);
        stl_le_p(&c->bar_entry[2].ctl, SWT_BAR_VALID);
        stl_le_p(&c->bar_entry[4].ctl, SWT_BAR_VALID);

        stw_le_p(&pff->vendor_id, SWT_VENDOR_ID);
        stw_le_p(&pff->device_id, SWT_DEVICE_ID);
        /* Link status: Gen4 (16 GT/s), x8. */
        stl_le_p(&pff->pci_cap_region[13], 8u << 20 | 4u << 16);
    }
}

/* ---- the device ---- */

static void swt_realize(PCIDevice *pdev, Error **errp)
{
    SwitchtecNtb *s = SWITCHTEC_NTB(pdev);
    hwaddr dbmsg = GAS_DBMSG(s->partition);
    unsigned k, v;

    if (s->partition > 1) {
        error_setg(errp, "switchtec-ntb: partition must be 0 or 1");
        return;
    }
    if (!qemu_chr_fe_backend_connected(&s->chr)) {
        error_setg(errp, "switchtec-ntb: chardev is required");
        return;
    }
    if (s->vectors < 3 || s->vectors > 64) {
        error_setg(errp, "switchtec-ntb: vectors must be 3..64");
        return;
    }
    for (k = 0; k < 2; k++) {
        if (!is_power_of_2(s->bar_size[k]) || s->bar_size[k] < 64 * KiB) {
            error_setg(errp, "switchtec-ntb: bar%u-size must be a power of "
                       "two of at least 64 KiB", 2 + 2 * k);
            return;
        }
    }
    if (s->bar_size[0] < SWT_NR_LUT * 64 * KiB) {
        error_setg(errp, "switchtec-ntb: bar2-size must hold the LUT "
                   "windows (%u KiB)", SWT_NR_LUT * 64);
        return;
    }
    if (s->memdev) {
        MemoryRegion *mr = host_memory_backend_get_memory(s->memdev);

        if (!s->memdev->share || memory_region_get_fd(mr) < 0) {
            error_setg(errp, "switchtec-ntb: memdev must be a shared memory "
                       "backend with an fd (memory-backend-memfd or -file, "
                       "share=on)");
            return;
        }
    }

    s->rx_fd = -1;
    s->gas = g_malloc0(SWT_GAS_SIZE);
    swt_gas_init(s);
    qemu_mutex_init(&s->rd_serial);
    qemu_mutex_init(&s->rd_lock);
    qemu_cond_init(&s->rd_cond);

    memory_region_init(&s->bar0, OBJECT(s), "switchtec-bar0", SWT_GAS_SIZE);
    memory_region_init_io(&s->gas_mr, OBJECT(s), &swt_gas_ops, s,
                          "switchtec-gas", SWT_GAS_SIZE);
    memory_region_add_subregion_overlap(&s->bar0, 0, &s->gas_mr, -1);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->bar0);

    for (k = 0; k < 2; k++) {
        SwtBar *bar = &s->bar[k];
        g_autofree char *name = g_strdup_printf("switchtec-bar%u", 2 + 2 * k);
        g_autofree char *fwd = g_strdup_printf("switchtec-bar%u-fwd",
                                               2 + 2 * k);

        bar->s = s;
        bar->bar = 2 + 2 * k;
        bar->size = s->bar_size[k];
        memory_region_init(&bar->mr, OBJECT(s), name, bar->size);
        memory_region_init_io(&bar->fwd, OBJECT(s), &swt_bar_ops, bar, fwd,
                              bar->size);
        memory_region_add_subregion_overlap(&bar->mr, 0, &bar->fwd, 0);
        pci_register_bar(pdev, bar->bar, PCI_BASE_ADDRESS_SPACE_MEMORY |
                         PCI_BASE_ADDRESS_MEM_TYPE_64 |
                         PCI_BASE_ADDRESS_MEM_PREFETCH, &bar->mr);
    }

    /* MSI-X lives in this partition's doorbell/message block. */
    if (msix_init(pdev, s->vectors, &s->bar0, 0,
                  dbmsg + DBMSG(msix_table), &s->bar0, 0, dbmsg + DBMSG(pba),
                  0, errp)) {
        return;
    }
    for (v = 0; v < s->vectors; v++) {
        msix_vector_use(pdev, v);
    }

    qemu_chr_fe_set_handlers(&s->chr, swt_chr_can_receive, swt_chr_receive,
                             swt_chr_event, NULL, s, NULL, true);
}

static void swt_exit(PCIDevice *pdev)
{
    SwitchtecNtb *s = SWITCHTEC_NTB(pdev);

    qemu_chr_fe_deinit(&s->chr, false);
    swt_peer_down(s);
    msix_uninit(pdev, &s->bar0, &s->bar0);
    g_free(s->gas);
    qemu_cond_destroy(&s->rd_cond);
    qemu_mutex_destroy(&s->rd_lock);
    qemu_mutex_destroy(&s->rd_serial);
}

static void swt_reset(DeviceState *dev)
{
    SwitchtecNtb *s = SWITCHTEC_NTB(dev);
    unsigned w;

    /*
     * A fresh register file. What the peer set up for our BARs stays;
     * what we set up for the peer's BARs onto our memory goes.
     */
    swt_gas_init(s);
    for (w = 0; w < SWT_NR_WIN; w++) {
        if (s->cfg[swt_peer(s)][w].enabled) {
            s->cfg[swt_peer(s)][w].enabled = false;
            swt_send_window(s, w);
        }
    }
    msix_reset(PCI_DEVICE(s));
}

static Property swt_properties[] = {
    DEFINE_PROP_CHR("chardev", SwitchtecNtb, chr),
    DEFINE_PROP_UINT32("partition", SwitchtecNtb, partition, 0),
    DEFINE_PROP_LINK("memdev", SwitchtecNtb, memdev, TYPE_MEMORY_BACKEND,
                     HostMemoryBackend *),
    DEFINE_PROP_SIZE("bar2-size", SwitchtecNtb, bar_size[0], 4 * MiB),
    DEFINE_PROP_SIZE("bar4-size", SwitchtecNtb, bar_size[1], 2 * MiB),
    DEFINE_PROP_UINT32("vectors", SwitchtecNtb, vectors, 4),
    DEFINE_PROP_END_OF_LIST(),
};

static const VMStateDescription swt_vmstate = {
    .name = TYPE_SWITCHTEC_NTB,
    .unmigratable = 1,
};

static void swt_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = swt_realize;
    k->exit = swt_exit;
    k->vendor_id = SWT_VENDOR_ID;
    k->device_id = SWT_DEVICE_ID;
    k->class_id = PCI_CLASS_BRIDGE_OTHER;
    dc->desc = "Microchip Switchtec PFX NTB function (one partition)";
    dc->reset = swt_reset;
    dc->vmsd = &swt_vmstate;
    device_class_set_props(dc, swt_properties);
    set_bit(DEVICE_CATEGORY_BRIDGE, dc->categories);
}

static const TypeInfo swt_info = {
    .name = TYPE_SWITCHTEC_NTB,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(SwitchtecNtb),
    .class_init = swt_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static const TypeInfo swt_peer_ram_info = {
    .name = TYPE_SWITCHTEC_PEER_RAM,
    .parent = TYPE_OBJECT,
    .instance_size = sizeof(SwitchtecPeerRam),
    .instance_finalize = swt_peer_ram_finalize,
};

static void swt_register_types(void)
{
    type_register_static(&swt_info);
    type_register_static(&swt_peer_ram_info);
}

type_init(swt_register_types)
