try await benchCloud()
