"""What was received: `Delivery` (a frozen value), the `DeliveryLog` and its waits, and the
`Recording` protocol every host and reader shares."""
