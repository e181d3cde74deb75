/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Register layout of a Microchip Switchtec Gen4 switch's global address
 * space (GAS, BAR0 of its functions), as Linux 6.12's
 * include/linux/switchtec.h describes it and as drivers/pci/switch/switchtec.c
 * and drivers/ntb/hw/mscc/ntb_hw_switchtec.c use it. Only the fields the
 * model gives a meaning to are named; the offsets are checked below.
 */
#ifndef HW_SWITCHTEC_REGS_H
#define HW_SWITCHTEC_REGS_H

#define SWT_GAS_MRPC            0x0000
#define SWT_GAS_TOP_CFG         0x1000
#define SWT_GAS_SW_EVENT        0x1800
#define SWT_GAS_SYS_INFO        0x2000
#define SWT_GAS_FLASH_INFO      0x2200
#define SWT_GAS_PART_CFG        0x4000
#define SWT_GAS_NTB             0x10000
#define SWT_GAS_NTB_CTRL        (SWT_GAS_NTB + 0x4000)
#define SWT_GAS_NTB_DBMSG       (SWT_GAS_NTB + 0x64000)
#define SWT_GAS_PFF_CSR         0x134000

#define SWT_MAX_PARTITIONS      48
#define SWT_MAX_PFF             255

#define SWT_EVENT_OCCURRED      (1u << 0)
#define SWT_EVENT_EN_IRQ        (1u << 3)

#define SWT_MRPC_STATUS_DONE    2

#define SWT_PART_OP_LOCK        1
#define SWT_PART_OP_CFG         2
#define SWT_PART_OP_RESET       3
#define SWT_PART_STATUS_NORMAL  1
#define SWT_PART_STATUS_LOCKED  2

#define SWT_BAR_VALID           (1u << 0)
#define SWT_BAR_DIR_WIN_EN      (1u << 4)
#define SWT_BAR_LUT_WIN_EN      (1u << 5)
#define SWT_REQ_ID_EN           (1u << 0)
#define SWT_LUT_EN              (1ull << 0)

typedef struct QEMU_PACKED SwtMrpcRegs {
    uint8_t input_data[1024];
    uint8_t output_data[1024];
    uint32_t cmd;
    uint32_t status;
    uint32_t ret_value;
    uint32_t dma_en;
    uint64_t dma_addr;
    uint32_t dma_vector;
    uint32_t dma_ver;
} SwtMrpcRegs;

typedef struct QEMU_PACKED SwtSysInfoRegs {
    uint32_t device_id;
    uint32_t device_version;
    uint32_t firmware_version;
    /* struct sys_info_regs_gen4 */
    uint16_t gas_layout_ver;
    uint8_t evlist_ver;
    uint8_t reserved1;
    uint16_t mgmt_cmd_set_ver;
    uint16_t fabric_cmd_set_ver;
    uint32_t reserved2[2];
    uint8_t mrpc_ver[4];
    uint32_t reserved3[7];
    uint32_t fw_update_tmo;
    uint32_t xml_version_cfg;
    uint32_t xml_version_img;
    uint32_t partition_id;
    uint16_t bl2_running;
    uint16_t cfg_running;
    uint16_t img_running;
    uint16_t key_running;
    uint32_t reserved4[43];
    uint32_t vendor_seeprom_twi;
    uint32_t vendor_table_revision;
    uint32_t vendor_specific_info[2];
    uint16_t p2p_vendor_id;
    uint16_t p2p_device_id;
    uint8_t p2p_revision_id;
    uint8_t reserved5[3];
    uint32_t p2p_class_id;
    uint16_t subsystem_vendor_id;
    uint16_t subsystem_id;
    uint32_t p2p_serial_number[2];
    uint8_t mac_addr[6];
    uint8_t reserved6[2];
    uint32_t reserved7[3];
    char vendor_id[8];
    char product_id[24];
    char product_revision[2];
    uint16_t reserved8;
} SwtSysInfoRegs;

typedef struct QEMU_PACKED SwtPartCfgRegs {
    uint32_t status;
    uint32_t state;
    uint32_t port_cnt;
    uint32_t usp_port_mode;
    uint32_t usp_pff_inst_id;
    uint32_t vep_pff_inst_id;
    uint32_t dsp_pff_inst_id[47];
    uint32_t reserved1[11];
    uint16_t vep_vector_number;
    uint16_t usp_vector_number;
    uint32_t port_event_bitmap;
    uint32_t reserved2[3];
    uint32_t part_event_summary;
    uint32_t reserved3[3];
    uint32_t part_reset_hdr;
    uint32_t part_reset_data[5];
    uint32_t mrpc_comp_hdr;
    uint32_t mrpc_comp_data[5];
    uint32_t mrpc_comp_async_hdr;
    uint32_t mrpc_comp_async_data[5];
    uint32_t dyn_binding_hdr;
    uint32_t dyn_binding_data[5];
    uint32_t intercomm_notify_hdr;
    uint32_t intercomm_notify_data[5];
    uint32_t reserved4[153];
} SwtPartCfgRegs;

typedef struct QEMU_PACKED SwtNtbInfoRegs {
    uint8_t partition_count;
    uint8_t partition_id;
    uint16_t reserved1;
    uint64_t ep_map;
    uint16_t requester_id;
    uint16_t reserved2;
    uint32_t reserved3[4];
    struct QEMU_PACKED {
        uint32_t xlink_enabled;
        uint32_t target_part_low;
        uint32_t target_part_high;
        uint32_t reserved;
    } ntp_info[SWT_MAX_PARTITIONS];
} SwtNtbInfoRegs;

typedef struct QEMU_PACKED SwtNtbCtrlRegs {
    uint32_t partition_status;
    uint32_t partition_op;
    uint32_t partition_ctrl;
    uint32_t bar_setup;
    uint32_t bar_error;
    uint16_t lut_table_entries;
    uint16_t lut_table_offset;
    uint32_t lut_error;
    uint16_t req_id_table_size;
    uint16_t req_id_table_offset;
    uint32_t req_id_error;
    uint32_t reserved1[7];
    struct QEMU_PACKED {
        uint32_t ctl;
        uint32_t win_size;
        uint64_t xlate_addr;
    } bar_entry[6];
    struct QEMU_PACKED {
        uint32_t win_size;
        uint32_t reserved[3];
    } bar_ext_entry[6];
    uint32_t reserved2[192];
    uint32_t req_id_table[512];
    uint32_t reserved3[256];
    uint64_t lut_entry[512];
} SwtNtbCtrlRegs;

typedef struct QEMU_PACKED SwtNtbDbmsgRegs {
    uint32_t reserved1[1024];
    uint64_t odb;
    uint64_t odb_mask;
    uint64_t idb;
    uint64_t idb_mask;
    uint8_t idb_vec_map[64];
    uint32_t msg_map;
    uint32_t reserved2;
    struct QEMU_PACKED {
        uint32_t msg;
        uint32_t status;
    } omsg[4];
    struct QEMU_PACKED {
        uint32_t msg;
        uint8_t status;
        uint8_t mask;
        uint8_t src;
        uint8_t reserved;
    } imsg[4];
    uint8_t reserved3[3928];
    uint8_t msix_table[1024];
    uint8_t reserved4[3072];
    uint8_t pba[24];
    uint8_t reserved5[4072];
} SwtNtbDbmsgRegs;

typedef struct QEMU_PACKED SwtPffCsrRegs {
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t pcicmd;
    uint16_t pcists;
    uint32_t pci_class;
    uint32_t pci_opts;
    uint32_t pci_bar[6];
    uint32_t pci_cardbus;
    uint32_t pci_subsystem_id;
    uint32_t pci_expansion_rom;
    uint32_t pci_cap_ptr;
    uint32_t reserved1;
    uint32_t pci_irq;
    uint32_t pci_cap_region[48];
    uint32_t pcie_cap_region[448];
    uint32_t indirect_gas_window[128];
    uint32_t indirect_gas_window_off;
    uint32_t reserved[127];
    uint32_t pff_event_summary;
    uint32_t reserved2[3];
    uint32_t event[12][6];      /* aer_in_p2p ... credit_timeout */
    uint32_t link_state_hdr;
    uint32_t link_state_data[5];
    uint32_t reserved4[174];
} SwtPffCsrRegs;

#define SWT_CTRL_SIZE   sizeof(SwtNtbCtrlRegs)
#define SWT_DBMSG_SIZE  sizeof(SwtNtbDbmsgRegs)
#define SWT_PART_SIZE   sizeof(SwtPartCfgRegs)
#define SWT_PFF_SIZE    sizeof(SwtPffCsrRegs)

QEMU_BUILD_BUG_ON(sizeof(SwtMrpcRegs) != 0x820);
QEMU_BUILD_BUG_ON(sizeof(SwtSysInfoRegs) >
                  SWT_GAS_FLASH_INFO - SWT_GAS_SYS_INFO);
QEMU_BUILD_BUG_ON(sizeof(SwtPartCfgRegs) != 0x400);
QEMU_BUILD_BUG_ON(SWT_GAS_PART_CFG + SWT_MAX_PARTITIONS * 0x400 != SWT_GAS_NTB);
QEMU_BUILD_BUG_ON(sizeof(SwtNtbCtrlRegs) != 0x2000);
QEMU_BUILD_BUG_ON(SWT_GAS_NTB_CTRL + SWT_MAX_PARTITIONS * 0x2000 !=
                  SWT_GAS_NTB_DBMSG);
QEMU_BUILD_BUG_ON(sizeof(SwtNtbDbmsgRegs) != 0x4000);
QEMU_BUILD_BUG_ON(SWT_GAS_NTB_DBMSG + SWT_MAX_PARTITIONS * 0x4000 !=
                  SWT_GAS_PFF_CSR);
QEMU_BUILD_BUG_ON(sizeof(SwtPffCsrRegs) != 0x1000);
QEMU_BUILD_BUG_ON(offsetof(SwtNtbDbmsgRegs, odb) != 0x1000);

#endif
