import CCurl
import Foundation
import StethoscopeCore

/// Where and how to deliver mail: the `smtp:` block of the config (see README, "Delivery (SMTP)").
public struct SMTPConfig: Sendable {
    /// How `smtp://` URLs protect the session. `smtps://` is TLS from the first byte and ignores this.
    public enum StartTLS: String, Sendable, CaseIterable {
        /// STARTTLS or nothing: a server that does not offer it is an error (`CURLUSESSL_ALL`).
        case required
        /// STARTTLS when offered, plain text otherwise. Refused together with a password: a man in the
        /// middle could strip the STARTTLS offer and read the password.
        case optional
        /// Plain text. Only for a relay on the loopback interface (127.0.0.1, ::1, localhost).
        case off
    }

    /// `smtp://host[:port][/ehlo-name]` or `smtps://host[:port][/ehlo-name]`; the path, as in curl, is the
    /// name sent with EHLO.
    public var url: String
    public var starttls: StartTLS
    public var username: String?
    public var password: Secret?
    /// A PEM bundle of CAs to trust instead of the system store. Verification is always on.
    public var caFile: String?
    /// Limit for one attempt: connect, greeting, TLS, AUTH and the whole transaction of one message.
    public var timeout: Double
    /// Messages in flight at once, each on its own connection; connections are kept and reused.
    public var maxConnections: Int
    /// Attempts per message (the first included) when the answer is temporary (4xx, connection lost).
    public var retryAttempts: Int
    /// The wait before the second attempt; each later wait doubles (capped at 10 minutes).
    public var retryBackoff: Double
    /// At most this many messages are started per minute (retries included); `nil`: no limit.
    public var ratePerMinute: Int?

    public init(
        url: String, starttls: StartTLS = .required, username: String? = nil, password: Secret? = nil,
        caFile: String? = nil, timeout: Double = 60, maxConnections: Int = 2, retryAttempts: Int = 3,
        retryBackoff: Double = 5, ratePerMinute: Int? = nil
    ) {
        self.url = url
        self.starttls = starttls
        self.username = username
        self.password = password
        self.caFile = caFile
        self.timeout = timeout
        self.maxConnections = maxConnections
        self.retryAttempts = retryAttempts
        self.retryBackoff = retryBackoff
        self.ratePerMinute = ratePerMinute
    }

    /// Reads the keys of an `smtp:` mapping and rejects unknown ones and unsafe combinations.
    public init(section s: ConfigSection) throws {
        self.init(url: try s.string("url"))
        starttls = StartTLS(rawValue: try s.choice("starttls", StartTLS.allCases.map(\.rawValue), default: "required"))!
        username = try s.optionalString("username")
        password = try s.secret("password")
        caFile = try s.path("ca_file")?.path
        timeout = try s.double("timeout_s", default: 60, min: 1, max: 3600)
        maxConnections = try s.int("max_connections", default: 2, min: 1, max: 16)
        retryAttempts = try s.int("retry_attempts", default: 3, min: 1, max: 20)
        retryBackoff = try s.double("retry_backoff_s", default: 5, min: 0, max: 600)
        ratePerMinute = try s.optionalInt("rate_per_minute", min: 1, max: 1_000_000)
        try s.finish()
        if let problem = problem() {
            throw s.error(problem.key, problem.message)
        }
    }

    /// The first unsafe or malformed setting, by key; `nil` when the config is usable.
    public func problem() -> (key: String, message: String)? {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
            let host = parts.host, !host.isEmpty
        else {
            return ("url", "expected smtp://host[:port] or smtps://host[:port]")
        }
        guard scheme == "smtp" || scheme == "smtps" else {
            return ("url", "expected an smtp:// or smtps:// URL, found \(scheme)://")
        }
        if parts.user != nil || parts.password != nil {
            return ("url", "must not hold credentials; use username and password (or password_file)")
        }
        guard scheme == "smtp" else { return nil }
        let loopback = ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased())
        if starttls == .off && !loopback {
            return ("starttls", "off is allowed only for a relay on 127.0.0.1, ::1 or localhost (found \(host))")
        }
        if starttls == .optional && password != nil {
            return ("starttls", "optional would send the password in clear text to a server that does not offer STARTTLS; use required or smtps://")
        }
        if (username == nil) != (password == nil) {
            return (username == nil ? "username" : "password", "username and password go together")
        }
        return nil
    }
}

/// One message to deliver: the envelope and the complete RFC 5322 bytes (CRLF line ends; curl adds the
/// dot-stuffing and the final `.`).
public struct SMTPMessage: Sendable {
    /// The caller's key for the message (its Message-ID); results carry it back.
    public var id: String
    public var from: String
    public var recipients: [String]
    public var data: [UInt8]
    public init(id: String, from: String, recipients: [String], data: [UInt8]) {
        self.id = id
        self.from = from
        self.recipients = recipients
        self.data = data
    }
}

/// What became of one recipient of one message.
public enum SMTPOutcome: Sendable, Equatable {
    /// The server answered 250 to the end of the message with this recipient accepted.
    case sent
    /// Not delivered for now (4xx, connection lost, server unreachable, TLS or AUTH refused): safe to try
    /// again in a later run. A connection lost after the whole message went out may hide a delivery the
    /// server did make, so a later attempt can duplicate it (the text says so).
    case temporary(String)
    /// The server refused for good (5xx for this recipient, or for the message): do not retry.
    case permanent(String)
}

/// The outcome of one message, per recipient, in the order of `SMTPMessage.recipients`.
public struct SMTPResult: Sendable {
    public var id: String
    public var recipients: [(address: String, outcome: SMTPOutcome)]
    /// SMTP transactions tried for this message (retries included).
    public var attempts: Int
    public var allSent: Bool { recipients.allSatisfy { $0.outcome == .sent } }
}

/// A failure of `check()` or of a whole connection, already redacted.
public struct SMTPError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Delivers mail over SMTP with libcurl, on a `CurlEngine` of its own (one thread, one multi handle): its
/// connection cache then holds only this transport's sessions, which HTTP traffic in the same process can
/// never evict (a shared cache closes its oldest idle connection when it fills up).
///
/// `maxConnections` workers take messages in order; each runs one SMTP transaction at a time, and libcurl
/// keeps the authenticated session open between transactions, so a batch costs one connection per worker.
/// Each message is sent to all its recipients in one transaction (`CURLOPT_MAIL_RCPT_ALLLOWFAILS`, so one
/// refused recipient does not stop the others); the server's answer to each `RCPT TO` is read from
/// curl's protocol trace, which gives a per-recipient outcome. Temporary answers are retried with
/// doubling waits for the recipients they concern only; permanent ones are recorded and not retried.
/// A failure that concerns every message (AUTH refused, STARTTLS missing, TLS verification, the server
/// unreachable after all attempts) stops the batch: the messages not yet tried come back `temporary`.
public final class SMTPTransport: Sendable {
    public let config: SMTPConfig
    private let engine: CurlEngine
    private let pacer: Pacer

    public init(_ config: SMTPConfig) {
        self.config = config
        self.engine = CurlEngine()
        self.pacer = Pacer(perMinute: config.ratePerMinute)
    }

    deinit { engine.stop() }

    /// Sends every message; one result per message, in the input order. Never throws: failures are outcomes.
    public func send(_ messages: [SMTPMessage]) async -> [SMTPResult] {
        let queue = WorkQueue(count: messages.count)
        let results = ResultTable(messages)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, min(config.maxConnections, messages.count)) {
                group.addTask {
                    while let index = queue.next() {
                        if let stop = queue.stopReason {
                            results.set(index, Self.unsent(messages[index], "not attempted: \(stop)"))
                            continue
                        }
                        let (result, fatal) = await self.deliver(messages[index])
                        results.set(index, result)
                        if let fatal { queue.stop(fatal) }
                    }
                }
            }
        }
        return results.all()
    }

    /// Connects, does STARTTLS (as configured) and AUTH, and hangs up: no MAIL command, no message.
    public func check() async throws {
        let attempt = await run(nil)
        if attempt.code != CURLE_OK {
            throw SMTPError(description: Redactor.redact(attempt.describeFailure(config: config)))
        }
    }

    // MARK: - one message

    /// Delivers one message with retries; the second value is set when the failure concerns every message.
    private func deliver(_ message: SMTPMessage) async -> (SMTPResult, String?) {
        var outcomes: [String: SMTPOutcome] = [:]
        var pending = message.recipients
        var attempts = 0
        var fatal: String? = nil
        while !pending.isEmpty {
            attempts += 1
            await pacer.wait()
            var m = message
            m.recipients = pending
            let attempt = await run(m)
            let verdict = attempt.verdict(config: config)
            var retry: [String] = []
            for address in pending {
                switch verdict.outcome(for: address) {
                case .sent: outcomes[address] = .sent
                case .permanent(let why): outcomes[address] = .permanent(Redactor.redact(why))
                case .temporary(let why):
                    outcomes[address] = .temporary(Redactor.redact(why) + (attempts > 1 ? " (after \(attempts) attempts)" : ""))
                    retry.append(address)
                }
            }
            if verdict.fatal {
                fatal = Redactor.redact(verdict.reason)
                break
            }
            pending = retry
            if pending.isEmpty || attempts >= config.retryAttempts {
                // A server still unreachable after every attempt is unreachable for the rest of the batch too.
                if !pending.isEmpty && verdict.connectionLevel { fatal = Redactor.redact(verdict.reason) }
                break
            }
            let delay = min(600, config.retryBackoff * pow(2, Double(attempts - 1)))
            if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000)) }
        }
        let result = SMTPResult(
            id: message.id, recipients: message.recipients.map { ($0, outcomes[$0] ?? .temporary("not attempted")) },
            attempts: attempts)
        return (result, fatal)
    }

    private static func unsent(_ message: SMTPMessage, _ why: String) -> SMTPResult {
        SMTPResult(id: message.id, recipients: message.recipients.map { ($0, .temporary(why)) }, attempts: 0)
    }

    /// One transaction on the engine thread; `nil` for `check()`.
    private func run(_ message: SMTPMessage?) async -> SMTPAttemptResult {
        await withCheckedContinuation { continuation in
            engine.start(SMTPAttempt(config: config, message: message, continuation: continuation))
        }
    }
}

// MARK: - one SMTP transaction on the curl thread

/// The server's replies a transaction needs for per-recipient outcomes, read from curl's protocol trace.
struct SMTPTrace {
    enum Command {
        case none, mail
        case rcpt(String)
        case data, other
    }
    var last: Command = .none
    /// Final reply line (code and text) per `RCPT TO` address, in the order sent.
    var rcpt: [(address: String, code: Int, text: String)] = []
    var mailReply: (code: Int, text: String)?
    /// The reply to `DATA` (354 expected), then the reply to the end of the message.
    var dataReply: (code: Int, text: String)?
    var endReply: (code: Int, text: String)?
    /// The last final reply of any kind (the greeting's 421, AUTH's 535 …), for error texts.
    var lastReply: (code: Int, text: String)?
    var inBody = false

    /// A line curl sent. Only the verb is kept: AUTH lines carry the credentials.
    mutating func sent(_ line: Substring) {
        let upper = line.prefix(10).uppercased()
        if upper.hasPrefix("MAIL FROM:") {
            last = .mail
        } else if upper.hasPrefix("RCPT TO:") {
            let rest = line.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines)
            var address = rest.hasPrefix("<") ? String(rest.dropFirst().prefix { $0 != ">" }) : rest
            if address.isEmpty { address = rest }
            last = .rcpt(address)
        } else if upper.hasPrefix("DATA") {
            last = .data
        } else {
            last = .other
        }
    }

    /// A line the server sent; only final lines (`250 ok`, not `250-…`) count.
    mutating func received(_ line: Substring) {
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(line.prefix(3))), bytes.count == 3 || bytes[3] == UInt8(ascii: " ") else { return }
        let text = String(line.prefix(300)).trimmingCharacters(in: .whitespacesAndNewlines)
        lastReply = (code, text)
        if inBody {
            endReply = (code, text)
            inBody = false
            return
        }
        switch last {
        case .mail: mailReply = (code, text)
        case .rcpt(let address): rcpt.append((address, code, text))
        case .data:
            dataReply = (code, text)
            if code == 354 { inBody = true }
        case .none, .other: break
        }
        last = .other
    }
}

/// What an attempt means for each recipient and for the batch.
struct SMTPVerdict {
    var perRecipient: [String: SMTPOutcome] = [:]
    var all: SMTPOutcome = .temporary("no answer")
    var fatal = false
    /// The failure is about the connection (unreachable, 421 greeting), not this message.
    var connectionLevel = false
    var reason = ""
    func outcome(for address: String) -> SMTPOutcome { perRecipient[address.lowercased()] ?? all }
}

/// One SMTP transaction as its owner hands it to the engine; it comes back as an `SMTPAttemptResult`.
struct SMTPAttempt: CurlJob {
    let config: SMTPConfig
    /// `nil` for `check()`: connect, TLS and AUTH only.
    let message: SMTPMessage?
    let continuation: CheckedContinuation<SMTPAttemptResult, Never>

    func run() -> any CurlJobRun { SMTPTransaction(self) }

    func abandoned(_ reason: String) {
        continuation.resume(returning: SMTPAttemptResult(code: CURLE_ABORTED_BY_CALLBACK, errorText: reason, trace: SMTPTrace()))
    }
}

/// The transaction while curl runs it, on the engine thread: the upload offset, the protocol trace, the recipient
/// list and error buffer curl points into.
final class SMTPTransaction: CurlJobRun {
    let attempt: SMTPAttempt
    var offset = 0
    var trace = SMTPTrace()
    private var resumed = false
    private var recipientList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init(_ attempt: SMTPAttempt) {
        self.attempt = attempt
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        if let recipientList { curl_slist_free_all(recipientList) }
        errorBuffer.deallocate()
    }

    var message: SMTPMessage? { attempt.message }

    func configure(_ easy: UnsafeMutableRawPointer) {
        let config = attempt.config
        ccurl_setopt_string(easy, CURLOPT_URL, config.url)
        ccurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        if let ca = config.caFile { ccurl_setopt_string(easy, CURLOPT_CAINFO, ca) }
        let usessl: curl_usessl
        switch config.starttls {
        case .required: usessl = CURLUSESSL_ALL
        case .optional: usessl = CURLUSESSL_TRY
        case .off: usessl = CURLUSESSL_NONE
        }
        ccurl_setopt_long(easy, CURLOPT_USE_SSL, Int(usessl.rawValue))
        if let user = config.username { ccurl_setopt_string(easy, CURLOPT_USERNAME, user) }
        if let password = config.password { ccurl_setopt_string(easy, CURLOPT_PASSWORD, password.reveal()) }
        let ms = Int(config.timeout * 1000)
        ccurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, ms)
        ccurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, ms)
        ccurl_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        ccurl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        let context = Unmanaged.passUnretained(self).toOpaque()
        // The trace is how per-recipient answers are learned; curl reports only the last reply code.
        ccurl_setopt_long(easy, CURLOPT_VERBOSE, 1)
        ccurl_setopt_debug_function(easy, CURLOPT_DEBUGFUNCTION, smtpTrace)
        ccurl_setopt_pointer(easy, CURLOPT_DEBUGDATA, context)
        guard let message else {
            // Stops after the protocol's connect phase: greeting, EHLO, STARTTLS, AUTH.
            ccurl_setopt_long(easy, CURLOPT_CONNECT_ONLY, 1)
            return
        }
        ccurl_setopt_string(easy, CURLOPT_MAIL_FROM, "<\(message.from)>")
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for r in message.recipients { list = curl_slist_append(list, "<\(r)>") }
        recipientList = list
        ccurl_setopt_slist(easy, CURLOPT_MAIL_RCPT, list)
        // CURLOPT_MAIL_RCPT_ALLLOWFAILS (sic, 7.69+; renamed ALLOWFAILS in 8.2 with the same number 290).
        ccurl_setopt_long(easy, CURLoption(rawValue: 290), 1)
        ccurl_setopt_long(easy, CURLOPT_UPLOAD, 1)
        ccurl_setopt_off_t(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(message.data.count))
        ccurl_setopt_read_function(easy, CURLOPT_READFUNCTION, smtpRead)
        ccurl_setopt_pointer(easy, CURLOPT_READDATA, context)
    }

    func finished(_ easy: UnsafeMutableRawPointer, _ code: CURLcode) {
        var errorText = String(cString: errorBuffer)
        if errorText.isEmpty && code != CURLE_OK { errorText = String(cString: curl_easy_strerror(code)) }
        resume(SMTPAttemptResult(code: code, errorText: errorText, trace: trace))
    }

    func abandoned(_ reason: String) {
        resume(SMTPAttemptResult(code: CURLE_ABORTED_BY_CALLBACK, errorText: reason, trace: trace))
    }

    private func resume(_ result: SMTPAttemptResult) {
        guard !resumed else { return }
        resumed = true
        attempt.continuation.resume(returning: result)
    }
}

/// What one SMTP transaction came to: curl's code, its error text and the server's replies.
struct SMTPAttemptResult: Sendable {
    let code: CURLcode
    let errorText: String
    let trace: SMTPTrace

    /// The server's own words when it gave any, else curl's.
    private func reply(_ r: (code: Int, text: String)?) -> String { r.map { "server said \"\($0.text)\"" } ?? errorText }

    func describeFailure(config: SMTPConfig) -> String {
        let host = URLComponents(string: config.url)?.host ?? config.url
        switch code {
        case CURLE_LOGIN_DENIED:
            return "SMTP AUTH refused by \(host) for user \(config.username ?? "?"): \(reply(trace.lastReply))"
        case CURLE_USE_SSL_FAILED:
            return "\(host) does not offer STARTTLS, which starttls: required demands (the password is never sent without TLS)"
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CIPHER:
            return "TLS with \(host) failed: \(errorText)"
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST:
            return "cannot connect to \(host): \(errorText)"
        case CURLE_OPERATION_TIMEDOUT:
            return "no answer from \(host) within \(ConfigNumber.format(config.timeout)) s"
        default:
            if let last = trace.lastReply, last.code >= 400 { return "\(host): server said \"\(last.text)\"" }
            return "\(host): \(errorText) (curl \(code.rawValue))"
        }
    }

    /// Per-recipient outcomes of a message transaction.
    func verdict(config: SMTPConfig) -> SMTPVerdict {
        var v = SMTPVerdict()
        let rcptByAddress = Dictionary(trace.rcpt.map { ($0.address.lowercased(), $0) }, uniquingKeysWith: { _, b in b })
        func byCode(_ code: Int, _ text: String) -> SMTPOutcome {
            code >= 500 ? .permanent(text) : .temporary(text)
        }
        // Recipients the server refused keep that answer whatever happened later.
        for (address, r) in rcptByAddress where r.code >= 400 { v.perRecipient[address] = byCode(r.code, "RCPT refused: \(r.text)") }
        if code == CURLE_OK {
            v.all = .sent
            return v
        }
        let why = describeFailure(config: config)
        v.reason = why
        switch code {
        case CURLE_LOGIN_DENIED, CURLE_USE_SSL_FAILED, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR,
            CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CIPHER, CURLE_COULDNT_RESOLVE_HOST,
            CURLE_ABORTED_BY_CALLBACK:
            v.fatal = true
            v.all = .temporary(why)
            return v
        default: break
        }
        if let mail = trace.mailReply, mail.code >= 400 {
            v.all = byCode(mail.code, "MAIL FROM refused: \(mail.text)")
        } else if trace.mailReply == nil {
            // Nothing of the message was sent: the connection, greeting, TLS or AUTH failed.
            v.connectionLevel = true
            v.all = .temporary(why)
        } else if let data = trace.dataReply, data.code >= 400 {
            v.all = byCode(data.code, "DATA refused: \(data.text)")
        } else if let end = trace.endReply, end.code >= 400 {
            v.all = byCode(end.code, "message refused: \(end.text)")
        } else if trace.dataReply?.code == 354 {
            v.all = .temporary("connection lost while sending the message (\(errorText)); a retry may deliver it twice if the server kept it")
        } else if !trace.rcpt.isEmpty && trace.rcpt.allSatisfy({ $0.code >= 400 }) {
            v.all = .temporary(why)  // every recipient refused: their own answers are in perRecipient
        } else {
            v.all = .temporary(why)
        }
        return v
    }
}

private enum ConfigNumber {
    static func format(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
}

/// Message bytes for curl's upload.
private let smtpRead: curl_read_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let attempt = Unmanaged<SMTPTransaction>.fromOpaque(context).takeUnretainedValue()
    guard let data = attempt.message?.data else { return 0 }
    let n = min(size * count, data.count - attempt.offset)
    if n > 0 {
        data.withUnsafeBytes { raw in
            UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + attempt.offset, byteCount: n)
        }
        attempt.offset += n
    }
    return n
}

/// curl's protocol trace: commands out (`HEADER_OUT`) and replies in (`HEADER_IN`), one or more lines each.
private let smtpTrace: curl_debug_callback = { _, type, data, size, context in
    guard let data, let context, type == CURLINFO_HEADER_OUT || type == CURLINFO_HEADER_IN else { return 0 }
    let attempt = Unmanaged<SMTPTransaction>.fromOpaque(context).takeUnretainedValue()
    let text = data.withMemoryRebound(to: UInt8.self, capacity: size) {
        String(decoding: UnsafeBufferPointer(start: $0, count: size), as: UTF8.self)
    }
    for line in text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) where !line.isEmpty {
        if type == CURLINFO_HEADER_OUT { attempt.trace.sent(line) } else { attempt.trace.received(line) }
    }
    return 0
}

// MARK: - batch plumbing

/// Hands out message indexes to the workers; after a batch-wide failure the rest come back unsent.
private final class WorkQueue: Sendable {
    private let nextIndex = Locked(0)
    private let count: Int
    private let reason = Locked<String?>(nil)
    init(count: Int) { self.count = count }
    func next() -> Int? {
        nextIndex.withLock { nextIndex in
            guard nextIndex < count else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }
    }
    func stop(_ why: String) { reason.withLock { if $0 == nil { $0 = why } } }
    var stopReason: String? { reason.withLock { $0 } }
}

private final class ResultTable: Sendable {
    private let results: Locked<[SMTPResult?]>
    init(_ messages: [SMTPMessage]) { results = Locked(Array(repeating: nil, count: messages.count)) }
    func set(_ i: Int, _ r: SMTPResult) { results.withLock { $0[i] = r } }
    func all() -> [SMTPResult] { results.withLock { $0.map { $0! } } }
}

/// Spaces message starts evenly to honour `rate_per_minute` across all workers.
private final class Pacer: Sendable {
    private let interval: Double?
    private let next = Locked(Date.distantPast)
    init(perMinute: Int?) { interval = perMinute.map { 60.0 / Double($0) } }
    func wait() async {
        guard let interval else { return }
        let delay: Double = next.withLock { next in
            let now = Date()
            let slot = max(now, next)
            next = slot.addingTimeInterval(interval)
            return slot.timeIntervalSince(now)
        }
        if delay > 0 { try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000)) }
    }
}
