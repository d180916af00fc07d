print("bench")
try benchStore()
