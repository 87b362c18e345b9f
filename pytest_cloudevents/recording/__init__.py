"""What was received: `Delivery`, the `DeliveryLog` and its waits."""
