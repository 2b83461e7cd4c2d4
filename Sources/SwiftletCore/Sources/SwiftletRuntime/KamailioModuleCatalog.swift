/// The script functions and pseudo-variable classes of Kamailio 5.6 modules, by module
/// (names only, taken from the modules' export tables). The compiler uses it to say which
/// module an unknown function or pseudo-variable belongs to: "function 't_relay' belongs to
/// module 'tm', which failed to load" instead of a bare "unknown function".
///
/// Modules covered: those the stock kamailio.cfg loads (with any of its defines) and those
/// listed in the design's module list. Generated from the 5.6.3 sources' `cmd_export_t` and
/// `pv_export_t` arrays (API-binding exports left out).
enum KamailioModuleCatalog {
    /// The module exporting script function `name`, or nil when unknown.
    static func module(ofFunction name: String) -> String? { functionIndex[name] }

    /// The module exporting pseudo-variable class `name` (`T_branch_idx`, `sht`), or nil.
    static func module(ofPseudoVariable name: String) -> String? { pseudoVariableIndex[name] }

    private static let functionIndex: [String: String] = index(functions)
    private static let pseudoVariableIndex: [String: String] = index(pseudoVariables)

    /// name -> module; the first module listed wins when several export a name.
    private static func index(_ table: [(String, String)]) -> [String: String] {
        var out: [String: String] = [:]
        for (module, names) in table {
            for n in names.split(separator: " ") where out[String(n)] == nil { out[String(n)] = module }
        }
        return out
    }

    private static let functions: [(String, String)] = [
        ("acc", "acc_log_request acc_db_request acc_request"),
        ("alias_db", "alias_db_lookup alias_db_find"),
        (
            "async",
            "async_route async_ms_route async_sleep async_ms_sleep async_task_route async_task_group_route "
                + "async_task_data async_task_group_data"
        ),
        (
            "auth",
            "consume_credentials www_challenge proxy_challenge auth_challenge pv_www_authorize "
                + "pv_www_authenticate pv_proxy_authorize pv_proxy_authenticate auth_get_www_authenticate "
                + "has_credentials pv_auth_check"
        ),
        (
            "auth_db",
            "www_authorize www_authenticate proxy_authorize proxy_authenticate auth_check " + "is_subscriber"
        ),
        (
            "corex",
            "forward_reply append_branch send_udp send_tcp send_data sendx is_incoming "
                + "msg_iflag_set msg_iflag_reset msg_iflag_is_set file_read file_write setxflag "
                + "resetxflag isxflagset set_send_socket set_send_socket_name set_recv_socket "
                + "set_recv_socket_name set_source_address via_add_srvid via_add_xavp_params "
                + "via_use_xavp_fields is_faked_msg is_socket_name"
        ),
        ("counters", "cnt_inc cnt_add cnt_reset"),
        ("debugger", "dbg_breakpoint dbg_pv_dump dbg_sip_msg"),
        (
            "dialog",
            "dlg_manage set_dlg_profile unset_dlg_profile is_in_profile get_profile_size "
                + "dlg_setflag dlg_resetflag dlg_isflagset dlg_bye dlg_refer dlg_bridge dlg_get "
                + "is_known_dlg dlg_set_timeout dlg_set_timeout_by_profile dlg_set_property "
                + "dlg_reset_property dlg_remote_profile dlg_set_ruri dlg_db_load_callid " + "dlg_db_load_extra"
        ),
        (
            "dispatcher",
            "ds_select ds_select_dst ds_select_domain ds_select_routes ds_next_dst ds_next_domain "
                + "ds_set_dst ds_set_domain ds_mark_dst ds_is_from_list ds_list_exist ds_list_exists "
                + "ds_load_unset ds_load_update ds_is_active ds_reload"
        ),
        ("domain", "is_from_local is_uri_host_local is_domain_local lookup_domain"),
        (
            "htable",
            "sht_print sht_rm sht_rm_name_re sht_rm_value_re sht_rm_name sht_rm_value "
                + "sht_match_name sht_has_name sht_match_str_value sht_has_str_value sht_lock sht_unlock "
                + "sht_reset sht_iterator_start sht_iterator_next sht_iterator_end sht_iterator_rm "
                + "sht_iterator_sets sht_iterator_seti sht_iterator_setex sht_setxs sht_setxi"
        ),
        ("jsonrpcs", "jsonrpc_dispatch jsonrpc_exec"),
        ("jwt", "jwt_generate jwt_verify"),
        (
            "kex",
            "setsflag resetsflag issflagset setbflag resetbflag isbflagset setdsturi resetdsturi "
                + "isdsturiset pv_printf avp_printf is_myself setdebug resetdebug"
        ),
        ("lwsc", "lwsc_request lwsc_request_proto lwsc_notify lwsc_notify_proto"),
        (
            "maxfwd",
            "maxfwd_process mf_process_maxfwd_header process_maxfwd is_maxfwd_lt maxfwd_at_least " + "mf_lowlimit"
        ),
        (
            "nathelper",
            "fix_nated_contact add_contact_alias set_contact_alias handle_ruri_alias fix_nated_sdp "
                + "nat_uac_test fix_nated_register add_rcv_param is_rfc1918 set_alias_to_pv"
        ),
        ("nats", "nats_publish"),
        (
            "permissions",
            "allow_routing allow_register allow_trusted allow_uri allow_address "
                + "allow_source_address allow_source_address_group allow_address_group"
        ),
        ("pike", "pike_check_req pike_check_ip"),
        (
            "presence",
            "handle_publish handle_subscribe pres_auth_status pres_refresh_watchers "
                + "pres_update_watchers pres_has_subscribers"
        ),
        ("presence_xml", "pres_check_basic pres_check_activities"),
        (
            "pv",
            "pv_isset pv_unset pv_xavp_print pv_xavu_print pv_xavi_print pv_var_to_xavp "
                + "pv_xavp_to_var is_int typeof not_empty xavp_copy xavp_slist_explode "
                + "xavp_params_explode xavp_params_implode xavu_params_explode xavu_params_implode "
                + "xavp_child_seti xavp_child_sets xavp_rm xavp_child_rm xavi_child_seti xavi_child_sets "
                + "xavi_rm xavi_child_rm sbranch_set_ruri sbranch_append sbranch_reset pv_evalx"
        ),
        (
            "registrar",
            "save lookup lookup_to_dset registered add_sock_hdr unregister reg_fetch_contacts "
                + "reg_free_contacts lookup_branches reg_send_reply"
        ),
        (
            "rr",
            "loose_route loose_route_preloaded loose_route_mode record_route record_route_preset "
                + "record_route_advertised_address add_rr_param check_route_param is_direction "
                + "remove_record_route rr_next_hop_route"
        ),
        (
            "rtpengine",
            "set_rtpengine_set start_recording stop_recording block_dtmf unblock_dtmf block_media "
                + "unblock_media silence_media unsilence_media start_forwarding stop_forwarding "
                + "play_media stop_media play_dtmf rtpengine_offer rtpengine_answer rtpengine_info "
                + "rtpengine_manage rtpengine_delete rtpengine_query rtpengine_query_v"
        ),
        (
            "rtpproxy",
            "set_rtp_proxy_set unforce_rtp_proxy rtpproxy_destroy start_recording rtpproxy_offer "
                + "rtpproxy_answer rtpproxy_stream2uac rtpproxy_stream2uas rtpproxy_stop_stream2uac "
                + "rtpproxy_stop_stream2uas rtpproxy_manage"
        ),
        ("ruxc", "ruxc_http_get ruxc_http_post ruxc_http_delete"),
        ("sanity", "sanity_check sanity_reply"),
        (
            "secsipid",
            "secsipid_check_identity secsipid_check_identity_pubkey secsipid_check "
                + "secsipid_add_identity secsipid_build_identity secsipid_build_identity_prvkey "
                + "secsipid_sign secsipid_get_url"
        ),
        (
            "siputils",
            "options_reply is_user has_totag uri_param uri_param_any add_uri_param get_uri_param "
                + "uri_param_rm tel2sip is_uri is_e164 is_uri_user_e164 encode_contact decode_contact "
                + "decode_contact_header cmp_uri cmp_aor cmp_hdr_name is_rpid_user_e164 append_rpid_hf "
                + "set_uri_user set_uri_host is_request is_reply is_gruu is_supported is_first_hop "
                + "is_tel_number is_numeric is_alphanum is_alphanumex sip_p_charging_vector "
                + "contact_param_encode contact_param_decode contact_param_decode_ruri contact_param_rm "
                + "hdr_date_check"
        ),
        ("sl", "sl_send_reply sl_reply send_reply send_reply_mode sl_reply_error sl_forward_reply"),
        ("slack", "slack_send"),
        ("speeddial", "sd_lookup"),
        ("sqlops", "sql_query sql_query_async sql_xquery sql_pvquery sql_result_free"),
        ("sworker", "sworker_task sworker_active"),
        (
            "textops",
            "search search_body search_hf search_append search_append_body replace replace_str "
                + "replace_body replace_body_str replace_hdrs replace_hdrs_str replace_all "
                + "replace_body_all replace_body_atonce append_to_reply append_hf insert_hf append_urihf "
                + "remove_hf remove_hf_idx remove_hf_re remove_hf_exp is_present_hf is_present_hf_re "
                + "remove_hf_pv remove_hf_re_pv remove_hf_exp_pv remove_hf_match is_present_hf_pv "
                + "is_present_hf_re_pv subst subst_uri subst_user subst_body subst_hf filter_body "
                + "append_time set_body set_reply_body is_method has_body is_privacy in_list "
                + "in_list_prefix cmp_str cmp_istr search_str starts_with ends_with str_find str_ifind "
                + "is_audio_on_hold append_time_to_request set_body_multipart append_body_part "
                + "append_body_part_hex remove_body_part get_body_part_raw get_body_part regex_substring"
        ),
        (
            "textopsx",
            "msg_apply_changes msg_set_buffer change_reply_status change_reply_status_code "
                + "remove_body keep_hf fnmatch append_hf_value insert_hf_value remove_hf_value "
                + "assign_hf_value remove_hf_value2 assign_hf_value2 include_hf_value exclude_hf_value "
                + "hf_value_exists hf_iterator_start hf_iterator_next hf_iterator_prev hf_iterator_end "
                + "hf_iterator_rm hf_iterator_append hf_iterator_insert bl_iterator_start "
                + "bl_iterator_next bl_iterator_end bl_iterator_rm bl_iterator_append bl_iterator_insert"
        ),
        ("tls", "is_peer_verified tls_set_connect_server_id"),
        (
            "tm",
            "t_newtran t_lookup_request t_lookup_cancel t_reply t_send_reply t_retransmit_reply "
                + "t_release t_relay_to_udp t_relay_to_tcp t_relay_to_tls t_relay_to_sctp t_replicate "
                + "t_replicate_udp t_replicate_tcp t_replicate_tls t_replicate_sctp t_replicate_to "
                + "t_relay t_relay_to_avp t_relay_to t_forward_nonack t_forward_nonack_uri "
                + "t_forward_nonack_udp t_forward_nonack_tcp t_forward_nonack_tls t_forward_nonack_sctp "
                + "t_forward_nonack_to t_relay_cancel t_on_failure t_on_branch_failure t_on_reply "
                + "t_on_branch t_check_status t_write_req t_write_unix t_set_fr t_reset_fr t_set_retr "
                + "t_reset_retr t_set_max_lifetime t_reset_max_lifetime t_set_auto_inv_100 "
                + "t_set_disable_6xx t_set_disable_failover t_set_no_e2e_cancel_reason "
                + "t_disable_e2e_cancel_reason t_set_disable_internal_reply t_branch_timeout "
                + "t_branch_replied t_any_timeout t_any_replied t_is_canceled t_is_retr_async_reply "
                + "t_is_expired t_grep_status t_drop_replies t_save_lumps t_check_trans t_is_set "
                + "t_use_uac_headers t_uac_send t_get_status_code t_load_contacts t_next_contacts "
                + "t_next_contact_flow t_clean"
        ),
        (
            "tmx",
            "t_cancel_branches t_cancel_callid t_reply_callid t_flush_flags t_flush_xflags "
                + "t_is_failure_route t_is_branch_route t_is_reply_route t_is_request_route t_suspend "
                + "t_continue t_reuse_branch t_precheck_trans t_drop"
        ),
        ("topos", "tps_set_context"),
        ("websocket", "ws_close ws_handle_handshake"),
        ("xhttp", "xhttp_reply"),
        ("xlog", "xlog xdbg xinfo xnotice xwarn xerr xbug xcrit xalert xlogl xdbgl xlogm"),
    ]

    private static let pseudoVariables: [(String, String)] = [
        ("async", "async"),
        ("corex", "cfg lsock"),
        ("dialog", "DLG_count DLG_lifetime DLG_status dlg_ctx dlg dlg_var"),
        ("dispatcher", "dsv"),
        ("htable", "sht shtex shtcn shtcv shtinc shtdec shtrecord shtitkey shtitval"),
        ("jsonrpcs", "jsonrpl"),
        ("jwt", "jwt"),
        ("kex", "sruid"),
        ("lwsc", "lwsc"),
        ("nathelper", "rr_count rr_top_count"),
        ("nats", "natsData"),
        ("presence", "subs notify_reply"),
        (
            "pv",
            "_s af branch sbranch mi stat sel snd sndto sndfrom rcv xavp xavu xavi avp hdr hdrc hfl "
                + "hflc var vz vn ai adu ar au ad aU aa adn adc adr ado Au AU bf bF Bf br bR bs ci cl cnt "
                + "conid cs csb ct cT dd di dir dip dic dp dP ds du duri fd fn fs fsn fsp ft fu from fU "
                + "fUl mb mbu mf mF Mf ml mt mts od op oP ou ouri oU oUl pd pn pp pr prid proto pu pU rb "
                + "rd re rm rmid rp rP rr rs rsi rt ru ruri rU rUl rv rz Ras Ri Rp Ru Rut Rn RAi RAp RAu "
                + "RAut sas sf sF Sf src_ip si siz sid sp su sut td tn tt tu to tU tUl true Tb Tf TF Ts "
                + "TS ua ruid location_ua shv time timef utime utimef TV nh version K expires msg ksr rpl "
                + "ccp via0 via1 viaZ msgbuf"
        ),
        ("registrar", "ulc"),
        ("rr", "route_uri fti tti rdir"),
        ("rtpengine", "rtpstat rtpestat"),
        ("rtpproxy", "rtpstat rtppstat"),
        ("secsipid", "secsipid"),
        ("siputils", "pcv"),
        ("sl", "ltt"),
        ("sqlops", "dbr sqlrows"),
        ("textopsx", "hfitname hfitbody blitval"),
        (
            "tls",
            "tls_version tls_description tls_cipher_info tls_cipher_bits tls_peer_raw_cert "
                + "tls_my_raw_cert tls_peer_urlencoded_cert tls_my_urlencoded_cert tls_peer_version "
                + "tls_my_version tls_peer_serial tls_my_serial tls_peer_subject tls_peer_issuer "
                + "tls_my_subject tls_my_issuer tls_peer_subject_cn tls_peer_issuer_cn tls_my_subject_cn "
                + "tls_my_issuer_cn tls_peer_subject_locality tls_peer_issuer_locality "
                + "tls_my_subject_locality tls_my_issuer_locality tls_peer_subject_country "
                + "tls_peer_issuer_country tls_my_subject_country tls_my_issuer_country "
                + "tls_peer_subject_state tls_peer_issuer_state tls_my_subject_state tls_my_issuer_state "
                + "tls_peer_subject_organization tls_peer_issuer_organization tls_my_subject_organization "
                + "tls_my_issuer_organization tls_peer_subject_unit tls_peer_issuer_unit "
                + "tls_my_subject_unit tls_my_issuer_unit tls_peer_subject_uid tls_my_subject_uid "
                + "tls_peer_san_email tls_my_san_email tls_peer_san_hostname tls_my_san_hostname "
                + "tls_peer_san_uri tls_my_san_uri tls_peer_san_ip tls_my_san_ip tls_peer_verified "
                + "tls_peer_revoked tls_peer_expired tls_peer_selfsigned tls_peer_notBefore "
                + "tls_peer_notAfter tls_peer_server_name tls"
        ),
        (
            "tmx",
            "T_branch_idx T_reply_ruid T_reply_code T_reply_reason T_reply_last T_inv T_req T_rpl T " + "T_branch"
        ),
        ("websocket", "ws_conid"),
        ("xhttp", "hu"),
        ("xlog", "C"),
    ]
}
