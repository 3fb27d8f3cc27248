/** Type-checks that main/commands.ts provides what the GUI back end needs (CommandsPort). */
import * as commands from '../commands';
import type { CommandsPort } from './commands-port';

export const realCommands: CommandsPort = commands;
