"""The simulated food factory: a seeded model, its ground truth, and real PLC servers.

- `Factory` (factory.py): pure, seeded, steppable model of every machine in a config.
- `Truth`, `TruthWriter`, `load_truth`, `truth_oee` (truth.py): ground truth per
  second and the reference OEE computed from it.
- `SimulatedFactory` (server.py): Modbus TCP and OPC UA servers fed by the model.
"""
