"""Jobs, schedules and sensors: what starts runs without a person clicking."""
