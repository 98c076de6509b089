/*
 * plant: known bugs that the cluster simulator must catch (docs/simulation.md, "Planted
 * bugs"). A checker that cannot fail is worthless, so each bug below can be switched on at run
 * time in the simulator's own copy of the consensus core, which is compiled with STOA_PLANTS
 * (cmake/tests.cmake, target stoa-sim). In every other build (the product, the unit tests)
 * STOA_PLANTED(name) is the constant 0 and the planted branch compiles away.
 *
 * Each plant site is one condition, marked with a comment "PLANT <name>".
 */
#ifndef STOA_CONSENSUS_PLANT_H
#define STOA_CONSENSUS_PLANT_H

enum stoa_plant {
    STOA_PLANT_NONE = 0,
    /* A follower marks chosen whatever it holds below the leader's commit index, whatever the
     * ballot (docs/consensus.md rule 5 broken): applies an accepted but not chosen value. */
    STOA_PLANT_APPLY_UNCHOSEN = 1,
    /* The leader counts a slot chosen once its own accept is durable, without a quorum: it
     * acknowledges safe writes before a quorum holds them. */
    STOA_PLANT_EARLY_ACK = 2,
    /* A follower serves a safe read from its own state, without a lease or a read index
     * (planted in the simulator's driver, tests/sim/stoa_sim_member.c). */
    STOA_PLANT_FOLLOWER_READ = 3,
    /* The driver sends a PROMISE before the promise is synced (planted in the simulator's
     * driver: the promise record waits for a later flush). */
    STOA_PLANT_SKIP_PROMISE_FSYNC = 4,
    /* A restarted core forgets the ballot it promised (it starts from the persisted entries
     * and commit index only). */
    STOA_PLANT_FORGET_PROMISE = 5,
    STOA_PLANT_COUNT = 6,
};

#ifdef STOA_PLANTS
/* The plant switched on; defined by the simulator. */
extern int stoa_plant_active;
#define STOA_PLANTED(name) (stoa_plant_active == STOA_PLANT_##name)
#else
#define STOA_PLANTED(name) 0
#endif

#endif
