from loa_agent.cli import main

main()
