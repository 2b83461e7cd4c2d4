import SwiftletSDK

/// The module parameters (Kamailio 5.6's names and defaults).
extension HTTPAsyncClientModule {
    var parameters: [ModuleParameter] {
        [
            ModuleParameter("workers", .int { (v: Int) throws(FixupError) in self.workerCount = v }),
            ModuleParameter("connection_timeout", .int { (v: Int) throws(FixupError) in self.defaults.timeout = v }),
            ModuleParameter("hash_size", .int { (v: Int) throws(FixupError) in self.hashSize = v }),
            ModuleParameter("tls_version", .int { (v: Int) throws(FixupError) in self.settings.tlsVersion = v }),
            ModuleParameter(
                "tls_verify_host", .int { (v: Int) throws(FixupError) in self.defaults.tlsVerifyHost = v != 0 }),
            ModuleParameter(
                "tls_verify_peer", .int { (v: Int) throws(FixupError) in self.defaults.tlsVerifyPeer = v != 0 }),
            ModuleParameter("curl_verbose", .int { (v: Int) throws(FixupError) in self.settings.verbose = v != 0 }),
            ModuleParameter(
                "curl_follow_redirect", .int { (v: Int) throws(FixupError) in self.defaults.followRedirect = v != 0 }),
            ModuleParameter(
                "tls_client_cert", .string { (v: String) throws(FixupError) in self.defaults.tlsClientCert = v }),
            ModuleParameter(
                "tls_client_key", .string { (v: String) throws(FixupError) in self.defaults.tlsClientKey = v }),
            ModuleParameter("tls_ca_path", .string { (v: String) throws(FixupError) in self.defaults.tlsCAPath = v }),
            ModuleParameter("memory_manager", .string { (v: String) throws(FixupError) in self.memoryManager = v }),
            ModuleParameter("authmethod", .int { (v: Int) throws(FixupError) in self.defaults.authMethod = v }),
            ModuleParameter("tcp_keepalive", .int { (v: Int) throws(FixupError) in self.defaults.tcpKeepalive = v }),
            ModuleParameter("tcp_ka_idle", .int { (v: Int) throws(FixupError) in self.defaults.tcpKeepaliveIdle = v }),
            ModuleParameter(
                "tcp_ka_interval", .int { (v: Int) throws(FixupError) in self.defaults.tcpKeepaliveInterval = v }),
        ]
    }
}
