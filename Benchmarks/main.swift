// `make bench`: release build, one line per figure. The full night runs first so its peak RSS is its own.
try await benchFullNight()
benchMerge()
try benchStore()
try await benchDemo()
try await benchJamf()
try await benchCloud()
try benchODBC()
try await benchReport()
