print("stethoscope")
