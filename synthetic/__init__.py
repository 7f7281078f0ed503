"""The synthetic Danish world: population, latent health, deliveries, faults and hidden truth.

Entry points: ``tidlig synth`` (``pipelines/commands/synth.py``), and in Python
``synthetic.world.generate_world(WorldConfig(...), out_dir, care_db_url=None, progress=None, workers=1)``
and ``synthetic.world.read_truth(out_dir)``. Source shapes: ``synthetic.sources``; the model:
``synthetic.model``; docs/synthetic-world.md explains both.
"""
