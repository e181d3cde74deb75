# SPDX-License-Identifier: GPL-2.0
#
# costs.awk: where a profile's busy time goes, attributed by call graph.
# Input: folded stacks (`comm;outermost;...;innermost count`, as
# selftests/bench/guest.sh prints them); -v drv=REGEX matches the driver's
# own frames (ntbnet's, or ntb_netdev's and ntb_transport's).
# With -v tsv=FILE it also appends `NAME<TAB>class<TAB>share of busy` lines
# to FILE (-v name=NAME) for report.sh's side-by-side summary.
# Output (Markdown, for selftests/bench/report.sh):
#   - a line with the busy samples (all but the idle loop);
#   - "cost centres": each busy sample in the first class that matches,
#     from its innermost frame (the leaf) and the frames above it (a
#     memcpy is the driver's copy when a driver frame calls it, a user
#     copy when the socket layer does);
#   - the driver's own functions, inclusive (a sample counts once for
#     each driver function on its stack) and self;
#   - the leaves (self time) as a share of the busy samples.

function idle_leaf(f) { return f ~ /default_idle|safe_halt|cpu_idle_poll|mwait|poll_idle/ }
function copy_leaf(f) {
	return f ~ /^(memcpy|__memcpy|memcpy_orig|memcpy_erms|memmove|__memmove|memcpy_toio|__memcpy_toio|memcpy_fromio|__memcpy_fromio|__iowrite32_copy|__copy_user_nocache|__memcpy_flushcache|ntbnet_copy_from_shared|rep_movs_alternative|copy_mc_enhanced_fast_string|copy_mc_fragile)$/
}
function user_copy_leaf(f) { return f ~ /^(rep_movs_alternative|copy_mc_enhanced_fast_string|copy_mc_fragile|_copy_to_user|_copy_from_user|__copy_user_nocache)$/ }
# The transmit and receive halves of each driver, by function name.
function tx_frame(f) { return f ~ /xmit|ntb_transport_tx|ntb_process_tx|ntb_async_tx|ntb_memcpy_tx|ntb_tx_copy|for_each_chunk/ }
function rx_frame(f) { return f ~ /copy_out|receive|poll_rx|ntbnet_copy_from_shared|ntb_transport_rxc|ntb_process_rxc|ntb_async_rx|ntb_memcpy_rx|ntb_rx_copy|ntb_complete_rxc|rx_handler/ }
# The rows' order in the side-by-side summary.
function rank(cls) {
	return cls ~ /^socket/ ? 0 : cls ~ /into the peer/ ? 1 : cls ~ /out of its own/ ? 2 : cls ~ /other copies/ ? 3 : cls ~ /^checksums/ ? 4 : cls ~ /own code/ ? 5 : cls ~ /^interrupts off/ ? 6 : cls ~ /^memory/ ? 7 : cls ~ /^TCP/ ? 8 : cls ~ /^scheduler/ ? 9 : cls ~ /^other kernel/ ? 10 : 11
}
function short(f) {
	# Rust paths: the last two components (Type::method) are enough.
	n2 = split(f, p, "::")
	return n2 > 2 ? p[n2 - 1] "::" p[n2] : f
}
{
	c = $NF; s = $0; sub(/ [0-9]+$/, "", s)
	n = split(s, fr, ";")
	total += c
	leaf = fr[n]
	if (idle_leaf(leaf)) { idle += c; next }
	busy += c
	self[leaf] += c
	# The innermost driver frame, if any.
	d = ""
	for (i = n; i >= 2; i--) if (fr[i] ~ drv) { d = fr[i]; break }
	if (leaf ~ /csum_partial|do_csum|csum_and_copy|csum_ipv6_magic/)
		cls = "checksums (`csum_partial` and the like)"
	else if (copy_leaf(leaf) && d != "" && tx_frame(d))
		cls = "driver: copy into the peer's window (transmit)"
	else if (copy_leaf(leaf) && d != "" && rx_frame(d))
		cls = "driver: copy out of its own window (receive)"
	else if (copy_leaf(leaf) && d != "")
		cls = "driver: other copies"
	else if (user_copy_leaf(leaf) || (copy_leaf(leaf) && s ~ /copy_to_iter|copy_from_iter|copy_page_to_iter|copy_page_from_iter|skb_copy_datagram|tcp_sendmsg|splice|sendfile/))
		cls = "socket copies to and from user space (and sendfile's page copies)"
	else if (leaf ~ /_raw_spin_unlock_irqrestore|_raw_spin_unlock_irq$|^handle_softirqs$|^finish_task_switch|^__do_softirq$|^irq_exit_rcu$/)
		# perf's cpu-clock is a timer interrupt: while interrupts are
		# off (hard interrupt handlers, spinlocks taken with irqsave,
		# the context switch) the sample waits and lands where they
		# are enabled again. Time spent there, not in that function.
		cls = "interrupts off until here (`_raw_spin_unlock_irqrestore`, `handle_softirqs`, `finish_task_switch`)"
	else if (d != "")
		cls = "driver: its own code and the calls it makes, other"
	else if (s ~ /page_pool|kmem_cache|__kmalloc|kmalloc|kfree|slab|alloc_pages|free_pages|free_unref|__free_|rmqueue|clear_page|skb_release|__alloc_skb|napi_alloc|build_skb/ && leaf !~ /^\[unknown\]$/)
		cls = "memory: skb and page allocation and freeing"
	else if (s ~ /tcp_|__tcp|ip_rcv|ip_finish|ip6_|__netif_receive|netif_receive|napi_gro|gro_|dev_gro|__dev_queue_xmit|sch_direct|net_rx_action|__napi_poll|skb_/)
		cls = "TCP/IP stack, other"
	else if (s ~ /schedule|finish_task_switch|try_to_wake_up|sched_|enqueue_task|dequeue_task|pick_next/)
		cls = "scheduler"
	else if (leaf ~ /^\[unknown\]$/ || s !~ /entry_SYSCALL|ret_from_fork|asm_|irq|softirq|kthread|startup/)
		cls = "user space and unresolved"
	else
		cls = "other kernel (timers, interrupts, syscalls, the bench's shell)"
	cost[cls] += c
	if (!(cls in order)) order[cls] = 3 + rank(cls)
	if (d != "") {
		drvtot += c
		# Inclusive: once per distinct driver function on the stack.
		delete seen
		for (i = 2; i <= n; i++) if (fr[i] ~ drv && !(fr[i] in seen)) { seen[fr[i]] = 1; incl[short(fr[i])] += c }
		dself[short(d) (leaf == d ? "" : " → " leaf)] += c
	}
}
# top(ARR, N, DEN): the N largest entries of ARR as table rows, with their
# share of DEN (no sort(1): plain selection).
function top(arr, k, den,   used, i, best, bk, x) {
	split("", used)
	for (i = 0; i < k; i++) {
		best = -1; bk = ""
		for (x in arr) if (!(x in used) && arr[x] > best) { best = arr[x]; bk = x }
		if (bk == "") break
		used[bk] = 1
		printf "| %s | %.1f%% |\n", bk, 100 * arr[bk] / den
	}
}
END {
	if (busy == 0) { print "no busy samples"; exit }
	printf "%d samples, %d busy (idle %.1f%%); the driver's code on the stack in %.1f%% of the busy ones\n\n", total, busy, 100 * idle / total, 100 * drvtot / busy
	if (tsv != "") {
		printf "%s\t0\t%s\t%d\n", name, "samples, busy", busy >> tsv
		printf "%s\t1\t%s\t%.1f\n", name, "idle, % of all samples", 100 * idle / total >> tsv
		printf "%s\t2\t%s\t%.1f\n", name, "driver code on the stack, % of busy", 100 * drvtot / busy >> tsv
		for (x in cost) printf "%s\t%d\t%s\t%.1f\n", name, order[x], x, 100 * cost[x] / busy >> tsv
	}
	print "| cost centre (busy samples, by call graph) | share of busy |"
	print "| --- | --- |"
	top(cost, 20, busy)
	print ""
	if (drvtot > 0) {
		print "| driver function (inclusive) | share of busy |"
		print "| --- | --- |"
		for (x in incl) q["`" x "`"] = incl[x]
		top(q, 8, busy)
		print ""
		print "| innermost driver function → what it was running | share of busy |"
		print "| --- | --- |"
		split("", q)
		for (x in dself) q["`" x "`"] = dself[x]
		top(q, 8, busy)
		print ""
	}
	print "| function running (self), busy samples only | share of busy |"
	print "| --- | --- |"
	split("", q)
	for (x in self) q["`" x "`"] = self[x]
	top(q, 12, busy)
	print ""
}
