"""What the mount reports about itself: events to the host's handlers and webhooks, OpenTelemetry
spans and metrics. Nothing here may slow or fail a request."""
