from stancelab.cli import run

run()
