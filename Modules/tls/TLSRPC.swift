import Foundation
import SwiftletSDK

/// `tls.list`, `tls.info`, `tls.options` and `tls.reload` with Kamailio's result shapes.
enum TLSRPC {
    static func commands(_ m: TLSModule) -> [RPCCommand] {
        [
            RPCCommand("tls.reload", "Reload TLS configuration file") { _ throws(RPCError) in
                try m.reload()
                return .string("Ok. TLS configuration reloaded.")
            },
            RPCCommand("tls.list", "List currently open TLS connections") { _ in list(m) },
            RPCCommand("tls.info", "Returns internal tls related info.") { _ in
                .object([
                    ("max_connections", .int(m.maxConnections)), ("opened_connections", .int(m.registry.count)),
                    ("clear_text_write_queued_bytes", .int(0)),
                ])
            },
            RPCCommand("tls.options", "Dumps all the tls config options.") { _ in options(m) },
        ]
    }

    /// One object per open TLS connection: `id`, `dom`, `sni`, `timestamp`, `timeout`,
    /// `src_ip`, `src_port`, `dst_ip`, `dst_port`, `cipher`, `ct_wq_size`, `enc_rd_buf`,
    /// `flags`, `state` (Kamailio's src is the peer, dst the local socket).
    @Sendable static func list(_ m: TLSModule) -> RPCValue {
        .array(
            m.registry.all.map { c in
                let info = c.info
                let e = c.endpoint
                var t = tm()
                var created = time_t(c.created)
                localtime_r(&created, &t)
                let stamp = String(
                    format: "%d-%02d-%02d %02d:%02d:%02d", Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday),
                    Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec))
                return .object([
                    ("id", .int(e.connectionID)), ("dom", .string(c.domainName)),
                    ("sni", .string(info?.serverName ?? "N/A")), ("timestamp", .string(stamp)),
                    ("timeout", .int(0)),
                    ("src_ip", .string(e.remote.ipString)), ("src_port", .int(e.remote.port)),
                    ("dst_ip", .string(e.local.ipString)), ("dst_port", .int(e.local.port)),
                    ("cipher", .string(info?.cipherDescription ?? "unknown")), ("ct_wq_size", .int(0)),
                    ("enc_rd_buf", .int(0)), ("flags", .int(0)), ("state", .string(c.phase.rawValue)),
                ])
            })
    }

    @Sendable static func options(_ m: TLSModule) -> RPCValue {
        let b = m.base
        return .object([
            ("force_run", .int(0)), ("method", .string(b.method)),
            ("verify_certificate", .int(b.verifyCertificate ? 1 : 0)), ("verify_depth", .int(b.verifyDepth)),
            ("require_certificate", .int(b.requireCertificate ? 1 : 0)), ("verify_client", .string("off")),
            ("private_key", .string(b.privateKey)), ("ca_list", .string(b.caList)),
            ("certificate", .string(b.certificate)), ("cipher_list", .string(b.cipherList)),
            ("session_cache", .int(0)), ("session_id", .string("kamailio-tls-5.x.y")),
            ("config", .string(m.configFile)), ("log", .int(3)), ("debug", .int(3)), ("connection_timeout", .int(600)),
            ("disable_compression", .int(1)), ("ssl_release_buffers", .int(1)), ("ssl_freelist_max", .int(0)),
            ("ssl_max_send_fragment", .int(-1)), ("ssl_read_ahead", .int(0)),
            ("send_close_notify", .int(m.sendCloseNotify ? 1 : 0)), ("low_mem_threshold1", .int(-1)),
            ("low_mem_threshold2", .int(-1)), ("ct_wq_max", .int(10 * 1024 * 1024)), ("con_ct_wq_max", .int(64 * 1024)),
            ("ct_wq_blk_size", .int(4096)),
        ])
    }
}
