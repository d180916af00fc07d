try benchODBC()
