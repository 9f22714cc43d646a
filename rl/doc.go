// Package rl implements reinforcement-learning environments and agents, after
// Sutton and Barto, "Reinforcement Learning: An Introduction" (2nd ed., 2018):
// exact, seeded environments (CartPole-v1 and FrozenLake-v1 with Gymnasium's
// dynamics, multi-armed bandits), bandit algorithms (epsilon-greedy, UCB1 of
// Auer et al. 2002, Thompson sampling), tabular Q-learning and SARSA, value
// iteration as the planning reference, and agents with function
// approximation built on package nn.
package rl
