import SwiftletSDK

/// The names of every global parameter Kamailio 5.6 accepts (the `assign_stm` rule of its
/// `cfg.y`, with the spellings of `cfg.lex`), plus `pkg_mem_size`.
///
/// A name in this list that Swiftlet does not act on is accepted with one warning naming the
/// place, so that Kamailio configurations load unchanged; a name outside it is an error.
enum KamailioGlobalParameters {
    static let names: Set<String> = [
        "add_rport", "advertised_address", "advertised_port", "alias", "async_nonblock", "async_usleep",
        "async_workers", "async_workers_group", "auto_aliases", "auto_bind_ipv6", "bind_ipv6_link_local",
        "cfgengine", "check_via", "children", "chroot", "core_log", "corelog", "debug", "disable_core_dump",
        "disable_sctp", "disable_tcp", "disable_tls", "dns", "dns_cache_del_nonexp",
        "dns_cache_delete_nonexpired", "dns_cache_flags", "dns_cache_gc_interval", "dns_cache_init",
        "dns_cache_max_ttl", "dns_cache_mem", "dns_cache_min_ttl", "dns_cache_negative_ttl",
        "dns_cache_rec_pref", "dns_naptr_ignore_rfc", "dns_retr_no", "dns_retr_time", "dns_sctp_pref",
        "dns_sctp_preference", "dns_search_full_match", "dns_servers_no", "dns_slow_query_ms", "dns_srv_lb",
        "dns_srv_loadbalancing", "dns_tcp_pref", "dns_tcp_preference", "dns_tls_pref", "dns_tls_preference",
        "dns_try_ipv6", "dns_try_naptr", "dns_udp_pref", "dns_udp_preference", "dns_use_search_list",
        "dst_blocklist_expire", "dst_blocklist_gc_interval", "dst_blocklist_init", "dst_blocklist_mem",
        "dst_blocklist_sctp_imask", "dst_blocklist_tcp_imask", "dst_blocklist_tls_imask", "dst_blocklist_ttl",
        "dst_blocklist_udp_imask", "enable_sctp", "enable_tls", "exit_timeout", "force_rport", "fork",
        "fork_delay", "gid", "group", "hdr_name_extra_chars", "http_reply_hack", "http_reply_parse",
        "ip_free_bind", "ip_nonlocal_bind", "ipfreebind", "ipv6_hex_style", "latency_cfg_log",
        "latency_limit_action", "latency_limit_cfg", "latency_limit_db", "latency_log", "listen", "loadpath",
        "local_rport", "log_color", "log_engine_data", "log_engine_type", "log_facility", "log_name",
        "log_prefix", "log_prefix_mode", "log_stderror", "max_branches", "max_recursive_level",
        "max_while_loops", "maxbuffer", "mcast", "mcast_loopback", "mcast_ttl", "mem_dbg", "mem_join",
        "mem_log", "mem_safety", "mem_status_mode", "mem_summary", "memdbg", "memlog", "mhomed",
        "mlock_pages", "modinit_delay", "mpath", "msg_time", "onsend_route_reply", "open_files_limit",
        "phone2tel", "pkg_mem_size", "pmtu_discovery", "port", "pv_buffer_size", "pv_buffer_slots",
        "pv_cache_action", "pv_cache_limit", "real_time", "received_route_mode", "reply_to_via", "rev_dns",
        "route_locks_size", "rt_fast_timer_prio", "rt_ftimer_policy", "rt_ftimer_prio", "rt_policy",
        "rt_prio", "rt_stimer_policy", "rt_stimer_prio", "rt_timer1_policy", "rt_timer1_prio",
        "rt_timer2_policy", "rt_timer2_prio", "run_dir", "rundir", "sctp_children", "ser_kill_timeout",
        "server_header", "server_id", "server_signature", "shm", "shm_force_alloc", "shm_mem", "shm_mem_size",
        "sip_parser_log", "sip_parser_log_oneline", "sip_parser_mode", "sip_warning", "socket_workers",
        "sql_buffer_size", "stats_name_separator", "tcp_accept_aliases", "tcp_accept_haproxy",
        "tcp_accept_hep3", "tcp_accept_no_cl", "tcp_accept_unique", "tcp_async", "tcp_buf_write",
        "tcp_children", "tcp_clone_rcvbuf", "tcp_conn_wq_max", "tcp_connect_timeout",
        "tcp_connection_lifetime", "tcp_connection_match", "tcp_crlf_ping", "tcp_defer_accept",
        "tcp_delayed_ack", "tcp_fd_cache", "tcp_keepalive", "tcp_keepcnt", "tcp_keepidle", "tcp_keepintvl",
        "tcp_linger2", "tcp_max_connections", "tcp_no_connect", "tcp_poll_method", "tcp_rd_buf_size",
        "tcp_reuse_port", "tcp_script_mode", "tcp_send_timeout", "tcp_source_ipv4", "tcp_source_ipv6",
        "tcp_syncnt", "tcp_wait_data", "tcp_wq_blk_size", "tcp_wq_max", "tls_ca_list", "tls_certificate",
        "tls_disable", "tls_enable", "tls_handshake_timeout", "tls_log", "tls_max_connections", "tls_method",
        "tls_port_no", "tls_private_key", "tls_require_certificate", "tls_send_timeout", "tls_verify",
        "tlslog", "tos", "udp4_raw", "udp4_raw_mtu", "udp4_raw_ttl", "udp_mtu", "udp_mtu_try_proto", "uid",
        "uri_host_extra_chars", "use_dns_cache", "use_dns_failover", "use_dst_blocklist", "user",
        "user_agent_header", "verbose_startup", "version_table", "wait_worker1_mode", "wait_worker1_time",
        "wait_worker1_usleep", "wdir", "workdir", "xavp_via_fields", "xavp_via_params",
    ]

    /// Settings that describe what Swiftlet does anyway: accepted without a warning.
    static func isDefaultBehaviour(_ g: GlobalParameter) -> Bool {
        switch g.name {
        case "fork": return g.intValue.map { $0 != 0 } ?? false
        default: return false
        }
    }
}
