import CCurl

/// The libcurl this process runs with and the TLS library behind it, for `--version`.
public enum CurlVersion {
    public static var library: String {
        // CURLVERSION_NOW is a macro Swift cannot import; the fields read here exist since the fourth version.
        guard let info = curl_version_info(CURLVERSION_FOURTH)?.pointee else { return "unknown" }
        let ssl = info.ssl_version.map { String(cString: $0) }
        return String(cString: info.version) + (ssl.map { " (\($0))" } ?? "")
    }
}
