package resources

// Quantity is a Kubernetes resource quantity ("500m", "1", "128Mi", "1G").
// Raw keeps what the manifest said so render prints it back unchanged.
type Quantity struct {
	Raw string
}

// TODO(resources helper): parsing, MilliValue (cpu), Value (bytes), JSON.
