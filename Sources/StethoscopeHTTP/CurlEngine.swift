import CCurl
import Foundation
import StethoscopeCore

/// `curl_global_init` must run once before any other curl call, before threads start using curl.
private let curlGlobal: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

/// One attempt as a caller hands it over: the request and the continuation to resume. Immutable, so it may
/// cross from the calling task to the engine thread; what the transfer collects lives in `TransferState`.
final class CurlTransfer: Sendable {
    let request: HTTPRequest
    let continuation: CheckedContinuation<HTTPResponse, any Error>

    init(_ request: HTTPRequest, _ continuation: CheckedContinuation<HTTPResponse, any Error>) {
        self.request = request
        self.continuation = continuation
    }
}

/// A transfer in flight: the bytes collected so far and the handles to free. Created, touched and dropped on the
/// engine thread only (curl callbacks run there), so it is not `Sendable`.
private final class TransferState {
    let transfer: CurlTransfer
    var body = Data()
    var headers: [String: String] = [:]
    var tooLarge = false
    /// Requests curl put on the wire for this transfer (more than one when it re-sent on a fresh connection).
    var sends = 0
    var headerList: UnsafeMutablePointer<curl_slist>?
    var easy: UnsafeMutableRawPointer?

    init(_ transfer: CurlTransfer) { self.transfer = transfer }
    var request: HTTPRequest { transfer.request }
}

/// Body bytes from curl; returning less than given aborts the transfer (used for the size limit).
private let curlWrite: curl_write_callback = { data, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
    let n = size * count
    if transfer.body.count + n > transfer.request.maxResponseBytes {
        transfer.tooLarge = true
        return 0
    }
    if let data { data.withMemoryRebound(to: UInt8.self, capacity: n) { transfer.body.append($0, count: n) } }
    return n
}

/// Counts each request curl is about to send.
private let curlPrereq: curl_prereq_callback = { context, _, _, _, _ in
    guard let context else { return Int32(CURL_PREREQFUNC_OK) }
    Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue().sends += 1
    return Int32(CURL_PREREQFUNC_OK)
}

/// One header line per call; a new status line (after `100 Continue` or a proxy's CONNECT) starts over.
private let curlHeader: curl_write_callback = { data, size, count, context in
    guard let context, let data else { return 0 }
    let transfer = Unmanaged<TransferState>.fromOpaque(context).takeUnretainedValue()
    let n = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: n) {
        String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
    }
    if line.hasPrefix("HTTP/") {
        transfer.headers = [:]
        return n
    }
    if let colon = line.firstIndex(of: ":") {
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
        transfer.headers[name] = value
    }
    return n
}

/// A transfer that is not an HTTP request (SMTP). The job crosses from its owner to the engine thread, so it holds
/// only what it was given; on that thread it makes the `CurlJobRun` that lives with the easy handle.
protocol CurlJob: Sendable {
    /// Called on the engine thread when the job starts.
    func run() -> any CurlJobRun
    /// The job never started (the engine stopped, or curl could not make a handle).
    func abandoned(_ reason: String)
}

/// A job's state while curl works on it: made, touched and dropped on the engine thread only, so not `Sendable`.
/// It resumes its owner from `finished` or `abandoned`.
protocol CurlJobRun: AnyObject {
    /// Sets the options on a fresh easy handle (the engine adds nothing of its own).
    func configure(_ easy: UnsafeMutableRawPointer)
    /// The transfer ended with `code`; the handle is cleaned up right after this returns.
    func finished(_ easy: UnsafeMutableRawPointer, _ code: CURLcode)
    /// The transfer was cut because the engine stopped, or never ran.
    func abandoned(_ reason: String)
}

/// libcurl's multi interface driven by one owned thread.
///
/// Callers queue transfers and sleep on continuations; the thread adds them to the multi handle, runs
/// `curl_multi_perform`/`curl_multi_poll`, and resumes each continuation when its transfer completes.
/// `curl_multi_wakeup` interrupts the poll when work is queued, so a new request never waits for a timeout.
///
/// Unchecked: `multi`, `active` and `activeJobs` belong to the engine's thread alone; what callers hand over goes
/// through `inbox`, under its lock.
final class CurlEngine: @unchecked Sendable {
    private let multi: UnsafeMutableRawPointer
    /// What callers hand to the thread; it takes all of it on each turn.
    private struct Inbox {
        var queued: [CurlTransfer] = []
        var queuedJobs: [any CurlJob] = []
        var cancelled: [ObjectIdentifier] = []
        var stopping = false
    }
    private let inbox = Locked(Inbox())
    /// Thread-only: transfers added to the multi handle, by easy handle.
    private var active: [UnsafeMutableRawPointer: TransferState] = [:]
    /// Thread-only: jobs added to the multi handle, by easy handle.
    private var activeJobs: [UnsafeMutableRawPointer: any CurlJobRun] = [:]

    init() {
        precondition(curlGlobal, "curl_global_init failed")
        multi = curl_multi_init()
        let thread = Thread { [self] in self.run() }
        thread.name = "stethoscope-http"
        thread.start()
    }

    /// Performs one attempt; cancellation of the calling task aborts the transfer.
    func perform(_ request: HTTPRequest) async throws -> HTTPResponse {
        // A task cancelled while it waited for a permit must not start a transfer nobody will read.
        try Task.checkCancellation()
        let box = TransferBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, any Error>) in
                let transfer = CurlTransfer(request, continuation)
                box.set(transfer)
                let accepted: Bool = inbox.withLock { inbox in
                    if inbox.stopping { return false }
                    inbox.queued.append(transfer)
                    return true
                }
                if accepted {
                    curl_multi_wakeup(multi)
                } else {
                    continuation.resume(throwing: HTTPError(.cancelled, source: request.source, what: request.what, detail: "HTTP client shut down"))
                }
            }
        } onCancel: {
            if let transfer = box.get() {
                inbox.withLock { $0.cancelled.append(ObjectIdentifier(transfer)) }
                curl_multi_wakeup(multi)
            }
        }
    }

    /// Queues a job. Its connection stays in the multi handle's cache when it ends, so a later job for the
    /// same server and credentials reuses it (libcurl keeps an SMTP session open between transfers).
    func start(_ job: any CurlJob) {
        let accepted: Bool = inbox.withLock { inbox in
            if inbox.stopping { return false }
            inbox.queuedJobs.append(job)
            return true
        }
        if accepted { curl_multi_wakeup(multi) } else { job.abandoned("curl engine shut down") }
    }

    /// Stops the thread; transfers still in flight fail as cancelled.
    func stop() {
        inbox.withLock { $0.stopping = true }
        curl_multi_wakeup(multi)
    }

    private func run() {
        var running: Int32 = 0
        while true {
            let (start, jobs, cancel, stop) = inbox.withLock { inbox -> ([CurlTransfer], [any CurlJob], [ObjectIdentifier], Bool) in
                defer {
                    inbox.queued = []
                    inbox.queuedJobs = []
                    inbox.cancelled = []
                }
                return (inbox.queued, inbox.queuedJobs, inbox.cancelled, inbox.stopping)
            }
            if stop {
                for t in start { fail(t, .cancelled, "HTTP client shut down") }
                for (_, t) in active { finishCancelled(t, "HTTP client shut down") }
                for job in jobs { job.abandoned("curl engine shut down") }
                for (easy, job) in activeJobs {
                    curl_multi_remove_handle(multi, easy)
                    curl_easy_cleanup(easy)
                    job.abandoned("curl engine shut down")
                }
                activeJobs = [:]
                break
            }
            for t in start { begin(t) }
            for job in jobs { begin(job) }
            if !cancel.isEmpty {
                let ids = Set(cancel)
                for (_, t) in active where ids.contains(ObjectIdentifier(t.transfer)) { finishCancelled(t, "cancelled") }
            }
            curl_multi_perform(multi, &running)
            drain()
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        curl_multi_cleanup(multi)
    }

    private func fail(_ t: CurlTransfer, _ kind: HTTPError.Kind, _ detail: String) {
        t.continuation.resume(throwing: HTTPError(kind, source: t.request.source, what: t.request.what, detail: detail))
    }

    private func finishCancelled(_ t: TransferState, _ detail: String) {
        if let easy = t.easy { release(easy, t) }
        t.transfer.continuation.resume(throwing: CancellationError())
    }

    private func release(_ easy: UnsafeMutableRawPointer, _ t: TransferState) {
        curl_multi_remove_handle(multi, easy)
        curl_easy_cleanup(easy)
        if let list = t.headerList { curl_slist_free_all(list) }
        t.headerList = nil
        t.easy = nil
        active[easy] = nil
    }

    private func begin(_ transfer: CurlTransfer) {
        guard let easy = curl_easy_init() else { return fail(transfer, .transport, "curl_easy_init failed") }
        let t = TransferState(transfer)
        let r = t.request
        ccurl_setopt_string(easy, CURLOPT_URL, r.url)
        ccurl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        ccurl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        if let ca = r.tls.caFile { ccurl_setopt_string(easy, CURLOPT_CAINFO, ca) }
        if let cert = r.tls.clientCert { ccurl_setopt_string(easy, CURLOPT_SSLCERT, cert) }
        if let key = r.tls.clientKey { ccurl_setopt_string(easy, CURLOPT_SSLKEY, key) }
        // Proxies: CURLOPT_PROXY is left unset on purpose, so curl reads HTTPS_PROXY/NO_PROXY itself.
        ccurl_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
        ccurl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(r.timeouts.connect * 1000))
        ccurl_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(r.timeouts.total * 1000))
        ccurl_setopt_off_t(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(r.maxResponseBytes))
        ccurl_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        switch r.method {
        case "GET": ccurl_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case "POST": ccurl_setopt_long(easy, CURLOPT_POST, 1)
        default: ccurl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, r.method)
        }
        if let body = r.body ?? (r.method == "POST" ? Data() : nil) {
            ccurl_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            if body.isEmpty {
                ccurl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, "")
            } else {
                // COPYPOSTFIELDS copies, so the Data may go away once this returns.
                body.withUnsafeBytes { raw in
                    _ = ccurl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress!))
                }
            }
        }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        // "Expect:" stops curl from waiting for 100-continue on POST bodies.
        for line in r.headers.map({ "\($0.key): \($0.value)" }) + ["Expect:"] { list = curl_slist_append(list, line) }
        t.headerList = list
        ccurl_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
        let context = Unmanaged.passUnretained(t).toOpaque()
        ccurl_setopt_write_function(easy, CURLOPT_WRITEFUNCTION, curlWrite)
        ccurl_setopt_pointer(easy, CURLOPT_WRITEDATA, context)
        ccurl_setopt_write_function(easy, CURLOPT_HEADERFUNCTION, curlHeader)
        ccurl_setopt_pointer(easy, CURLOPT_HEADERDATA, context)
        ccurl_setopt_prereq_function(easy, curlPrereq)
        ccurl_setopt_pointer(easy, CURLOPT_PREREQDATA, context)
        t.easy = easy
        active[easy] = t
        let added = curl_multi_add_handle(multi, easy)
        if added != CURLM_OK {
            release(easy, t)
            fail(transfer, .transport, "curl_multi_add_handle failed (\(added.rawValue))")
        }
    }

    private func begin(_ job: any CurlJob) {
        guard let easy = curl_easy_init() else { return job.abandoned("curl_easy_init failed") }
        let run = job.run()
        run.configure(easy)
        activeJobs[easy] = run
        let added = curl_multi_add_handle(multi, easy)
        if added != CURLM_OK {
            activeJobs[easy] = nil
            curl_easy_cleanup(easy)
            run.abandoned("curl_multi_add_handle failed (\(added.rawValue))")
        }
    }

    private func drain() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            if let job = activeJobs.removeValue(forKey: easy) {
                let code = ccurl_msg_result(message)
                curl_multi_remove_handle(multi, easy)
                // `finished` resumes the owner, which may drop the job at once; the handle still points into
                // it (recipient list, error buffer) until the cleanup.
                withExtendedLifetime(job) {
                    job.finished(easy, code)
                    curl_easy_cleanup(easy)
                }
                continue
            }
            guard let t = active[easy] else { continue }
            let code = ccurl_msg_result(message)
            var status: Int = 0
            ccurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            var downloaded: curl_off_t = 0
            ccurl_getinfo_off_t(easy, CURLINFO_SIZE_DOWNLOAD_T, &downloaded)
            var connectTime: Double = 0
            ccurl_getinfo_double(easy, CURLINFO_CONNECT_TIME, &connectTime)
            release(easy, t)
            let resends = max(0, t.sends - 1)
            if code == CURLE_OK {
                var response = HTTPResponse(status: status, headers: t.headers, body: t.body, wireBytes: Int(downloaded))
                response.resends = resends
                t.transfer.continuation.resume(returning: response)
            } else {
                let (kind, detail) = classify(code, tooLarge: t.tooLarge, connected: connectTime > 0, t.request)
                var error = HTTPError(kind, source: t.request.source, what: t.request.what, detail: detail)
                error.resends = resends
                t.transfer.continuation.resume(throwing: error)
            }
        }
    }

    private func classify(_ code: CURLcode, tooLarge: Bool, connected: Bool, _ r: HTTPRequest) -> (HTTPError.Kind, String) {
        let text = String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_WRITE_ERROR where tooLarge, CURLE_FILESIZE_EXCEEDED:
            return (.tooLarge, "response larger than the limit of \(r.maxResponseBytes) bytes")
        case CURLE_OPERATION_TIMEDOUT:
            return connected
                ? (.timeout, "no complete answer within \(r.timeouts.total) s")
                : (.timeout, "could not connect within \(r.timeouts.connect) s")
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SEND_ERROR,
            CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return (.connect, text)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CIPHER, CURLE_SSL_ENGINE_NOTFOUND:
            return (.tls, text)
        default:
            return (.transport, "\(text) (curl \(code.rawValue))")
        }
    }
}

/// Hands the transfer from the continuation body to the cancellation handler.
private final class TransferBox: Sendable {
    private let transfer = Locked<CurlTransfer?>(nil)
    func set(_ t: CurlTransfer) { transfer.withLock { $0 = t } }
    func get() -> CurlTransfer? { transfer.withLock { $0 } }
}
